"""Pure per-session integrity checks: seq gaps, duplicates, CRC mismatches, runs of zeros."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from enum import Enum

from stenograph.schemas import AudioFrame, HealthKind
from stenograph.transcribe.policy import EPS_S


class Verdict(Enum):
    ACCEPT = "accept"  # feed to the model
    SKIP = "skip"  # already seen (duplicate or below the checkpoint): drop silently
    REJECT = "reject"  # corrupt: dropped and reported


@dataclass(frozen=True)
class HealthIssue:
    kind: HealthKind
    seq_first: int
    seq_last: int
    detail: str


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    issues: tuple[HealthIssue, ...] = ()
    discontinuity: bool = False  # audio before this frame is missing: cut the chunk here


def is_digital_zero(payload: bytes) -> bool:
    return payload.count(0) == len(payload)


@dataclass
class StreamTracker:
    """What one capture session has delivered so far. `next_seq` resumes from a checkpoint."""

    next_seq: int = 0
    zero_alert_s: float = 5.0
    zero_run_first: int | None = None
    zero_run_s: float = 0.0
    zero_run_reported: bool = False
    pending_discontinuity: bool = field(default=False)

    def check(self, frame: AudioFrame) -> Check:
        if frame.seq < self.next_seq:
            return Check(Verdict.SKIP)
        issues: list[HealthIssue] = []
        discontinuity = self.pending_discontinuity
        if frame.seq > self.next_seq:
            issues.append(HealthIssue(
                HealthKind.GAP, self.next_seq, frame.seq - 1,
                f"{frame.seq - self.next_seq} frame(s) missing",
            ))
            discontinuity = True
        self.next_seq = frame.seq + 1
        if zlib.crc32(frame.payload) != frame.crc32:
            self.pending_discontinuity = True
            issues.append(HealthIssue(
                HealthKind.CORRUPT_FRAME, frame.seq, frame.seq, "payload CRC32 mismatch"
            ))
            return Check(Verdict.REJECT, tuple(issues))
        self.pending_discontinuity = False
        issues.extend(self._track_zeros(frame))
        return Check(Verdict.ACCEPT, tuple(issues), discontinuity)

    def _track_zeros(self, frame: AudioFrame) -> list[HealthIssue]:
        if not is_digital_zero(frame.payload):
            self.zero_run_first, self.zero_run_s, self.zero_run_reported = None, 0.0, False
            return []
        if self.zero_run_first is None:
            self.zero_run_first = frame.seq
        self.zero_run_s += frame.duration_s
        if self.zero_run_reported or self.zero_run_s + EPS_S < self.zero_alert_s:
            return []
        self.zero_run_reported = True
        return [HealthIssue(
            HealthKind.SILENT_STREAM, self.zero_run_first, frame.seq,
            f"{self.zero_run_s:.1f} s of digital zeros: the capture path may be broken",
        )]
