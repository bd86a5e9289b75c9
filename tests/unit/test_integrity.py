"""transcribe/integrity.py: per-session seq, CRC and digital-zero checks."""

from __future__ import annotations

import zlib

from stenograph.schemas.events import AudioFrame, HealthKind
from stenograph.transcribe.integrity import Check, HealthIssue, StreamTracker, Verdict, is_digital_zero

FRAME_BYTES = 4000  # 125 ms at 16 kHz: a binary fraction, so durations add up exactly
FRAME_S = 0.125
LOUD = b"\x10\x27" * (FRAME_BYTES // 2)
ZERO = bytes(FRAME_BYTES)


def frame(seq: int, payload: bytes = LOUD, *, crc: int | None = None) -> AudioFrame:
    return AudioFrame(
        tenant_id="t", meeting_id="m", session_id="s", seq=seq,
        capture_time_ns=seq * 125_000_000, session_started_at_ns=0,
        sample_rate=16_000, channels=1, payload=payload,
        crc32=zlib.crc32(payload) if crc is None else crc,
    )


def test_is_digital_zero() -> None:
    assert is_digital_zero(ZERO)
    assert not is_digital_zero(LOUD)
    assert not is_digital_zero(bytes(100) + b"\x01")


def test_in_order_frames_are_accepted_cleanly() -> None:
    t = StreamTracker()
    for seq in range(10):
        assert t.check(frame(seq)) == Check(Verdict.ACCEPT, (), False)
    assert t.next_seq == 10


def test_duplicate_is_skipped_without_issue() -> None:
    t = StreamTracker()
    for seq in range(3):
        t.check(frame(seq))
    assert t.check(frame(1)) == Check(Verdict.SKIP)
    assert t.check(frame(2)) == Check(Verdict.SKIP)
    assert t.next_seq == 3
    assert t.check(frame(3)).verdict is Verdict.ACCEPT


def test_gap_reports_missing_range_and_discontinuity() -> None:
    t = StreamTracker()
    t.check(frame(0))
    t.check(frame(1))
    check = t.check(frame(5))
    assert check.verdict is Verdict.ACCEPT
    assert check.discontinuity is True
    assert len(check.issues) == 1
    issue = check.issues[0]
    assert (issue.kind, issue.seq_first, issue.seq_last) == (HealthKind.GAP, 2, 4)
    assert "3 frame(s) missing" in issue.detail
    assert t.next_seq == 6
    # the frame after the gap is an ordinary one again
    assert t.check(frame(6)) == Check(Verdict.ACCEPT, (), False)
    # a late frame from inside the gap is below next_seq: skipped
    assert t.check(frame(3)).verdict is Verdict.SKIP


def test_gap_at_session_start() -> None:
    check = StreamTracker().check(frame(2))
    assert check.discontinuity is True
    assert [(i.kind, i.seq_first, i.seq_last) for i in check.issues] == [(HealthKind.GAP, 0, 1)]


def test_crc_mismatch_rejects_and_flags_next_frame() -> None:
    t = StreamTracker()
    t.check(frame(0))
    bad = frame(1, crc=zlib.crc32(LOUD) ^ 1)
    check = t.check(bad)
    assert check.verdict is Verdict.REJECT
    assert check.issues == (HealthIssue(HealthKind.CORRUPT_FRAME, 1, 1, "payload CRC32 mismatch"),)
    assert t.next_seq == 2
    after = t.check(frame(2))
    assert after.verdict is Verdict.ACCEPT
    assert after.discontinuity is True
    assert after.issues == ()
    # only the one frame after the corrupt one is flagged
    assert t.check(frame(3)) == Check(Verdict.ACCEPT, (), False)


def test_consecutive_corrupt_frames_keep_discontinuity_pending() -> None:
    t = StreamTracker()
    t.check(frame(0))
    assert t.check(frame(1, crc=0)).verdict is Verdict.REJECT
    assert t.check(frame(2, crc=0)).verdict is Verdict.REJECT
    assert t.check(frame(3)).discontinuity is True


def test_corrupt_frame_after_gap_reports_both() -> None:
    t = StreamTracker()
    t.check(frame(0))
    check = t.check(frame(3, crc=0))
    assert check.verdict is Verdict.REJECT
    assert [(i.kind, i.seq_first, i.seq_last) for i in check.issues] == [
        (HealthKind.GAP, 1, 2), (HealthKind.CORRUPT_FRAME, 3, 3),
    ]
    assert t.check(frame(4)).discontinuity is True


def silent_issues(check: Check) -> list[HealthIssue]:
    return [i for i in check.issues if i.kind is HealthKind.SILENT_STREAM]


def test_silent_stream_reported_once_when_run_reaches_threshold() -> None:
    t = StreamTracker(zero_alert_s=1.0)  # 8 frames of 125 ms
    t.check(frame(0))
    reports: dict[int, list[HealthIssue]] = {}
    for seq in range(1, 30):
        check = t.check(frame(seq, ZERO))
        assert check.verdict is Verdict.ACCEPT
        if found := silent_issues(check):
            reports[seq] = found
    assert list(reports) == [8]  # the 8th zero frame completes 1.0 s, and only once
    (issue,) = reports[8]
    assert (issue.seq_first, issue.seq_last) == (1, 8)
    assert "1.0 s of digital zeros" in issue.detail


def test_silent_stream_not_reported_below_threshold() -> None:
    t = StreamTracker(zero_alert_s=1.0)
    for seq in range(7):
        assert silent_issues(t.check(frame(seq, ZERO))) == []
    assert t.check(frame(7, LOUD)).issues == ()


def test_non_zero_frame_resets_the_run() -> None:
    t = StreamTracker(zero_alert_s=0.5)  # 4 frames
    seqs = iter(range(100))
    fired: list[tuple[int, int]] = []

    def feed(payload: bytes, count: int) -> None:
        for _ in range(count):
            for issue in silent_issues(t.check(frame(next(seqs), payload))):
                fired.append((issue.seq_first, issue.seq_last))

    feed(ZERO, 3)  # 0..2: short run
    feed(LOUD, 1)  # 3: resets
    feed(ZERO, 3)  # 4..6: still short, counted from 4
    assert fired == []
    feed(ZERO, 5)  # 7..11: run 4..7 reaches 0.5 s at seq 7
    assert fired == [(4, 7)]
    feed(LOUD, 1)  # 12
    feed(ZERO, 6)  # 13..18: a new run, reported again once at 16
    assert fired == [(4, 7), (13, 16)]
    assert t.zero_run_reported is True


def test_nearly_zero_frame_is_not_digital_zero() -> None:
    t = StreamTracker(zero_alert_s=0.25)
    almost = bytes(FRAME_BYTES - 1) + b"\x01"
    for seq in range(10):
        assert t.check(frame(seq, almost)).issues == ()


def test_resume_from_next_seq_skips_below() -> None:
    t = StreamTracker(next_seq=42)
    for seq in (0, 10, 41):
        assert t.check(frame(seq)) == Check(Verdict.SKIP)
    assert t.check(frame(42)) == Check(Verdict.ACCEPT, (), False)
    assert t.next_seq == 43


def test_resume_with_gap_after_checkpoint() -> None:
    t = StreamTracker(next_seq=10)
    check = t.check(frame(12))
    assert check.discontinuity is True
    assert [(i.kind, i.seq_first, i.seq_last) for i in check.issues] == [(HealthKind.GAP, 10, 11)]


def test_silent_stream_fires_on_the_frame_that_completes_the_run_with_100ms_frames() -> None:
    tracker = StreamTracker(zero_alert_s=5.0)
    zero = bytes(3200)  # 100 ms
    fired = [
        seq for seq in range(60)
        if silent_issues(tracker.check(AudioFrame(
            tenant_id="t", meeting_id="m", session_id="s", seq=seq, capture_time_ns=0,
            session_started_at_ns=0, sample_rate=16000, channels=1, payload=zero, crc32=zlib.crc32(zero),
        )))
    ]
    assert fired == [49]
