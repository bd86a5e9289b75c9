"""The aggregator's own per-meeting state, kept beside the partitions that carry it
(docs/architecture.md, "The aggregator"): the revision of every open segment, the meeting's
speaking indicators, and which meetings are erased. The aggregator decides from this state and
writes Redis, with one exception that reads it: a retirement this state turns down (Faust's
recovery can miss an open revision, handlers._orphan_retired).

In the app the three maps are Faust tables whose changelog topics are co-partitioned with the
meeting topics (a table is written while the event of that meeting's partition is processed,
so the changelog record lands in the same partition number). A rebuild and the unit tests pass
plain dicts.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from stenograph.aggregate.speakers import Indicator
from stenograph.readmodel import should_store_segment
from stenograph.schemas import SegmentEvent, SpeakerActivity

# the tables, by the registry's names of their changelog topics (schemas/topics.py STATE_TOPICS)
REVISIONS_TABLE = "aggregator.revisions"
SPEAKING_TABLE = "aggregator.speaking"
ERASED_TABLE = "aggregator.erased"


MINUTE_NS = 60 * 10**9
LOOKBACK_NS = 10 * MINUTE_NS  # speaking indicators this long before a segment still count


def _meeting(tenant: str, meeting_id: str) -> str:
    return f"{tenant}/{meeting_id}"


@dataclass
class AggregatorState:
    # "tenant/meeting/run/segment" -> revision, for segments not completed yet: a completed one
    # never changes again, so it needs no entry and the table stays as small as what is open
    revisions: MutableMapping[str, Any]
    # "tenant/meeting/minute" -> {event id: [participant id, name, speaking, at_ns]}: one entry a
    # minute, so a changelog record stays small however long the meeting
    speaking: MutableMapping[str, Any]
    # "tenant/meeting" -> True
    erased: MutableMapping[str, Any]

    @classmethod
    def in_memory(cls) -> AggregatorState:
        return cls({}, {}, {})

    @staticmethod
    def _key(event: SegmentEvent) -> str:
        return f"{event.tenant_id}/{event.meeting_id}/{event.run_id}/{event.segment_id}"

    def accept(self, event: SegmentEvent) -> bool:
        """Whether the revision is stored (latest wins, completed is final); remembers it."""
        key = self._key(event)
        revision = self.revisions.get(key)
        stored = None if revision is None else {"completed": False, "revision": revision}
        if not should_store_segment(stored, event):
            return False
        if event.completed:
            if revision is not None:
                del self.revisions[key]
        else:
            self.revisions[key] = event.revision
        return True

    def add_speaking(self, event: SpeakerActivity) -> None:
        key = f"{_meeting(event.tenant_id, event.meeting_id)}/{event.at_ns // MINUTE_NS}"
        seen = dict(self.speaking.get(key) or {})
        if event.event_id in seen:
            return  # re-delivered
        seen[event.event_id] = [event.participant_id, event.name, event.speaking, event.at_ns]
        self.speaking[key] = seen

    def indicators(self, tenant: str, meeting_id: str, start_ns: int, end_ns: int) -> list[Indicator]:
        """The meeting's indicators from LOOKBACK_NS before `start_ns` to `end_ns` (an interval
        that began earlier and is still open is seen from its last indicator)."""
        meeting = _meeting(tenant, meeting_id)
        out = []
        for minute in range((start_ns - LOOKBACK_NS) // MINUTE_NS, end_ns // MINUTE_NS + 1):
            for p, n, s, at in (self.speaking.get(f"{meeting}/{minute}") or {}).values():
                out.append(Indicator(str(p), str(n), bool(s), int(at)))
        return out

    def erase(self, tenant: str, meeting_id: str) -> None:
        key = _meeting(tenant, meeting_id)
        self.erased[key] = True
        for table in (self.speaking, self.revisions):
            for held in [k for k in table if k.startswith(f"{key}/")]:
                del table[held]

    def is_erased(self, tenant: str, meeting_id: str) -> bool:
        return bool(self.erased.get(_meeting(tenant, meeting_id)))
