"""The aggregator's watch on its own progress: consumer lag, and a consumer that stopped delivering.

Faust 0.15 can leave a worker restarted after a kill -9 with every partition assigned and its
tables recovered, but nothing delivered to its agents: its fetcher runs while the records behind
the committed offsets never reach a stream (its recovery resumes the flow before it seeks the
stream partitions, faust-streaming #216 and #217). Nothing in the worker notices. So the
aggregator compares, every few seconds, the group's committed offsets with the partitions' ends:
when some partition is behind, no event is being applied, and the committed offsets have not
moved for `after_s`, it seeks its stream partitions back to the committed offsets, which is what
Faust's recovery does when it goes right. Events are applied idempotently (segment revisions,
sets), so what is read again is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Partition = tuple[str, int]  # (topic, partition)


@dataclass
class StallDetector:
    """Pure: whether a consumer has stalled, from what it committed and where its partitions end."""

    after_s: float = 20.0
    _since: float | None = None
    _committed: dict[Partition, int] = field(default_factory=dict)

    def stalled(
        self, now: float, committed: Mapping[Partition, int], ends: Mapping[Partition, int], *, busy: bool,
    ) -> bool:
        behind = any(end > committed.get(tp, 0) for tp, end in ends.items())
        moved = dict(committed) != self._committed
        self._committed = dict(committed)
        if not behind:
            self._since = None  # the clock starts when a partition falls behind
            return False
        if busy or moved or self._since is None:
            self._since = now
            return False
        if now - self._since < self.after_s:
            return False
        self._since = now  # healed (or not): the next verdict waits as long again
        return True

    def reset(self, now: float) -> None:
        self._since = now


def lag(committed: Mapping[Partition, int], ends: Mapping[Partition, int]) -> dict[Partition, int]:
    """Records of each partition not committed yet."""
    return {tp: max(0, end - committed.get(tp, 0)) for tp, end in ends.items()}


@dataclass
class GapDetector:
    """Pure: offsets a stream skipped. Each partition's records should reach the agent in order
    and without holes (on the topics that are not compacted, and no producer of them is
    transactional; the agent asks only for those). After a kill -9 and a restart they do not
    always: the agent was handed a partition's records up to one offset and then one further
    on (Faust's fetcher drops what lies below its read offset, or what it fetched for a
    partition paused meanwhile, and books the hole as a gap it may commit past). The agent
    reads such a hole straight from Kafka and applies it first (aggregate/app.py); seeking back
    from inside an agent is undone by the rest of the fetched batch, which moves the read
    offset on again."""

    _last: dict[Partition, int] = field(default_factory=dict)

    def delivered(self, tp: Partition, offset: int) -> tuple[int, int] | None:
        """The first and last offset skipped before this one, if any."""
        last = self._last.get(tp)
        self._last[tp] = offset if last is None else max(last, offset)
        if last is not None and offset > last + 1:
            return last + 1, offset - 1
        return None

    def forget(self) -> None:
        """After a seek or a rebalance: the next offset starts afresh."""
        self._last.clear()
