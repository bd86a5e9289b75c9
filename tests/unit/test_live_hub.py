"""api/live.py without Kafka or Redis: bounded queues, a slow subscriber dropped and told, and
when a subscriber is told the settled transcript is complete."""

from __future__ import annotations

import asyncio
from typing import Any

from stenograph.api.live import OVERFLOW, LiveHub, LiveSession
from stenograph.schemas import LIVE_RUN, SETTLED_RUN, TopicNames, TranscriptSegment


def test_a_subscriber_that_falls_behind_is_dropped_and_the_others_go_on() -> None:
    hub = LiveHub("127.0.0.1:1", TopicNames("t."), queue_max=3)
    slow = hub.subscribe("acme", "m1")
    quick = hub.subscribe("acme", "m1")
    other_tenant = hub.subscribe("beta", "m1")
    for n in range(3):
        hub.deliver("m1", "acme", ("status", f"s{n}"))
        quick.get_nowait()  # this one keeps up
    hub.deliver("m1", "acme", ("status", "s3"))
    assert slow.qsize() == 4 and list(slow._queue)[-1] is OVERFLOW  # type: ignore[attr-defined]
    assert hub.dropped == 1
    hub.deliver("m1", "acme", ("status", "s4"))  # the dropped one gets nothing more
    assert slow.qsize() == 4
    assert [quick.get_nowait() for _ in range(2)] == [("status", "s3"), ("status", "s4")]
    assert other_tenant.empty()  # another tenant's subscriber of the same id is never sent it


def test_queues_are_bounded() -> None:
    hub = LiveHub("127.0.0.1:1", TopicNames("t."), queue_max=3)
    queue: asyncio.Queue[object] = hub.subscribe("acme", "m1")  # type: ignore[assignment]
    for n in range(100):
        hub.deliver("m1", "acme", ("status", str(n)))
    assert queue.qsize() == 4  # three updates and the marker, never more


class _Store:
    """The read model as LiveSession reads it, in memory (a pure unit test's stand-in)."""

    def __init__(self, settled: list[TranscriptSegment], complete: bool) -> None:
        self.settled, self.complete = settled, complete

    async def resolve(self, tenant: str, platform: str, native: str) -> str:
        return "m1"

    async def meeting(self, tenant: str, meeting_id: str) -> None:
        return None

    async def runs(self, tenant: str, meeting_id: str) -> list[dict[str, str]]:
        return [{"run_id": SETTLED_RUN, "state": "completed" if self.complete else "running"}]

    async def live_segments(self, tenant: str, meeting_id: str,
                            run_id: str = LIVE_RUN) -> tuple[TranscriptSegment, ...]:
        return tuple(self.settled) if run_id == SETTLED_RUN else ()


def _seg(n: int) -> TranscriptSegment:
    return TranscriptSegment(segment_id=f"s-{n}", start_s=float(n), end_s=n + 0.5, start_time_ns=n,
                             end_time_ns=n + 1, text=f"word {n}", completed=True)


async def _settled_messages(store: _Store, updates: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    hub = LiveHub("127.0.0.1:1", TopicNames("t."))
    session = LiveSession(hub, store, "acme")  # type: ignore[arg-type]
    assert await session.subscribe("zoom", "abc-defg-hij")
    for update in updates:
        hub.deliver("m1", "acme", update)
    await asyncio.sleep(0.05)
    await session.close()
    out = []
    while not session.outbox.empty():
        m = session.outbox.get_nowait()
        if m["type"] == "transcript.settled":
            out.append({"ids": [s["segment_id"] for s in m["payload"]["segments"]],
                        "complete": m["payload"]["complete"]})
    return out


def test_settled_is_complete_only_after_its_last_segment() -> None:
    """The run's state in Redis may say completed while the last segments' changes are still on
    their way to this process: completion is told when the completion event comes, after them."""
    store = _Store([], complete=False)
    got = asyncio.run(_settled_messages(store, [
        ("settled", [_seg(0)]), ("settled", [_seg(1)]), ("settled.complete", None)]))
    assert got == [{"ids": ["s-0"], "complete": False}, {"ids": ["s-1"], "complete": False},
                   {"ids": [], "complete": True}]


def test_a_snapshot_of_a_completed_run_says_so_once_and_a_new_session_reopens_it() -> None:
    store = _Store([_seg(0), _seg(1)], complete=True)
    got = asyncio.run(_settled_messages(store, [
        ("settled", [_seg(1)]),  # a change from before the snapshot: already sent
        ("settled.complete", None),  # likewise
        ("settled", [_seg(2)]), ("settled.complete", None)]))  # another session settles
    assert got == [{"ids": ["s-0", "s-1"], "complete": False}, {"ids": [], "complete": True},
                   {"ids": ["s-2"], "complete": False}, {"ids": [], "complete": True}]
