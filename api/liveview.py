"""What one live subscriber has been sent, and what an update adds to it. Pure.

Updates carry segments: the read model's snapshot at subscription, then the aggregator's
deltas. A subscriber is sent each final segment once, and an interim segment only when it has
grown (its end moved on), so a snapshot and the deltas that overlap it never repeat or roll
back text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stenograph.schemas import TranscriptSegment


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


def wire(segment: TranscriptSegment) -> dict[str, Any]:
    """Vexa's segment fields, plus the stable segment id."""
    return {"segment_id": segment.segment_id, "text": segment.text, "speaker": segment.speaker,
            "language": segment.language, "start": segment.start_s, "end": segment.end_s,
            "end_time": segment.end_s, "completed": segment.completed,
            "absolute_start_time": _iso(segment.start_time_ns),
            "absolute_end_time": _iso(segment.end_time_ns)}


@dataclass
class LiveView:
    finals: set[str] = field(default_factory=set)
    interim_ends: dict[str, float] = field(default_factory=dict)

    def apply(self, segments: list[TranscriptSegment]) -> tuple[list[TranscriptSegment],
                                                                list[TranscriptSegment]]:
        """(grown interim segments, new final segments) to send, each in transcript order."""
        mutable, finalized = [], []
        for s in sorted(segments, key=lambda s: (s.start_s, s.segment_id)):
            if s.segment_id in self.finals or not s.text:
                continue
            if s.completed:
                self.finals.add(s.segment_id)
                self.interim_ends.pop(s.segment_id, None)
                finalized.append(s)
            elif s.end_s > self.interim_ends.get(s.segment_id, -1.0):
                self.interim_ends[s.segment_id] = s.end_s
                mutable.append(s)
        return mutable, finalized
