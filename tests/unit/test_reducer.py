"""aggregate/reducer.py: pure (stored state, event) -> what to store."""

from __future__ import annotations

from typing import Any

from stenograph.readmodel.reducer import (
    health_entry,
    segment_record,
    segment_words,
    should_store_segment,
    status_fields,
    transcript_segments,
)
from stenograph.schemas.events import (
    AudioHealth,
    BotState,
    BotStatusChanged,
    HealthKind,
    SegmentEvent,
    TranscriptSegment,
    Word,
)


def segment(segment_id: str = "s-0-0", *, revision: int = 0, completed: bool = False,
            start_s: float = 1.0, text: str = "hello") -> SegmentEvent:
    return SegmentEvent(
        tenant_id="t", meeting_id="m", event_id=f"live:{segment_id}:{revision}", event_time_ns=5,
        run_id="live", session_id="s", segment_id=segment_id, revision=revision, completed=completed,
        start_s=start_s, end_s=start_s + 1.5, start_time_ns=int(start_s * 1e9) + 10**18,
        end_time_ns=int((start_s + 1.5) * 1e9) + 10**18, text=text, model="tiny.en",
        seq_first=0, seq_last=9, words=(Word(word="hello", start_s=start_s, end_s=start_s + 0.5,
                                             probability=0.75),),
        language="en", speaker="Ann",
    )


# segments


def test_segment_record_shape() -> None:
    rec = segment_record(segment())
    assert rec == {
        "segment_id": "s-0-0", "run_id": "live", "session_id": "s", "revision": 0, "completed": False,
        "start": 1.0, "end": 2.5, "absolute_start_time_ns": 10**18 + 1_000_000_000,
        "absolute_end_time_ns": 10**18 + 2_500_000_000, "text": "hello", "language": "en",
        "speaker": "Ann", "speaker_mapping": None, "model": "tiny.en", "seq_first": 0, "seq_last": 9,
    }
    assert segment_words(segment()) == [{"word": "hello", "start": 1.0, "end": 1.5, "probability": 0.75}]


def test_new_segment_is_stored() -> None:
    assert should_store_segment(None, segment()) is True


def test_higher_revision_replaces_lower() -> None:
    stored = segment_record(segment(revision=1))
    assert should_store_segment(stored, segment(revision=2)) is True
    assert should_store_segment(stored, segment(revision=2, completed=True)) is True


def test_lower_revision_is_ignored() -> None:
    stored = segment_record(segment(revision=3))
    assert should_store_segment(stored, segment(revision=2)) is False
    assert should_store_segment(stored, segment(revision=0, completed=True)) is False


def test_same_revision_is_idempotent() -> None:
    event = segment(revision=1)
    stored = segment_record(event)
    assert should_store_segment(stored, event) is True
    assert segment_record(event) == stored  # rewriting gives identical content


def test_completed_segment_never_changes() -> None:
    stored = segment_record(segment(revision=0, completed=True))
    assert should_store_segment(stored, segment(revision=0, completed=True)) is False
    assert should_store_segment(stored, segment(revision=5)) is False
    assert should_store_segment(stored, segment(revision=5, completed=True, text="other")) is False


def test_stored_without_revision_accepts_any() -> None:
    assert should_store_segment({"completed": False}, segment(revision=0)) is True


# status


def status(t: int, *, state: BotState = BotState.ACTIVE, session_id: str | None = "sess",
           sub_code: str | None = None) -> BotStatusChanged:
    return BotStatusChanged(
        tenant_id="t", meeting_id="m", event_time_ns=t, state=state, reason="joined",
        platform="zoom", native_meeting_id="123", sub_code=sub_code, session_id=session_id,
    )


def test_status_fields_first_event() -> None:
    assert status_fields(None, status(100)) == {
        "platform": "zoom", "native_meeting_id": "123", "status": "active", "reason": "joined",
        "sub_code": "", "status_updated_ns": "100", "session_id": "sess",
    }


def test_status_fields_newer_and_equal_events_apply() -> None:
    newer = status_fields(100, status(200, state=BotState.FAILED, sub_code="denied"))
    assert newer is not None
    assert (newer["status"], newer["sub_code"], newer["status_updated_ns"]) == ("failed", "denied", "200")
    assert status_fields(200, status(200)) is not None


def test_status_fields_older_event_ignored() -> None:
    assert status_fields(200, status(199)) is None
    assert status_fields(200, status(0, state=BotState.COMPLETED)) is None


def test_status_fields_without_session_leaves_it_alone() -> None:
    fields = status_fields(None, status(1, session_id=None))
    assert fields is not None
    assert "session_id" not in fields


# health


def health(event_id: str, *, kind: HealthKind = HealthKind.GAP, first: int = 3, last: int = 5,
           t: int = 1000) -> AudioHealth:
    return AudioHealth(tenant_id="t", meeting_id="m", event_id=event_id, event_time_ns=t, session_id="s",
                       kind=kind, seq_first=first, seq_last=last, detail=f"{last - first + 1} missing")


def test_health_entry_first_event() -> None:
    assert health_entry(None, health("e1")) == {
        "count": 1, "event_ids": ["e1"], "kind": "gap", "seq_first": 3, "seq_last": 5,
        "detail": "3 missing", "at_ns": 1000,
    }


def test_health_entry_counts_distinct_events() -> None:
    entry = health_entry(None, health("e1"))
    entry = health_entry(entry, health("e2", first=10, last=10, t=2000))
    assert entry["count"] == 2
    assert entry["event_ids"] == ["e1", "e2"]
    assert (entry["seq_first"], entry["seq_last"], entry["at_ns"]) == (10, 10, 2000)


def test_health_entry_redelivery_not_double_counted() -> None:
    entry = health_entry(None, health("e1"))
    entry = health_entry(entry, health("e2"))
    again = health_entry(entry, health("e1"))
    assert again["count"] == 2
    assert again["event_ids"] == ["e1", "e2"]
    assert health_entry(again, health("e2"))["count"] == 2


def test_health_entry_does_not_mutate_stored() -> None:
    stored: dict[str, Any] = {"count": 1, "event_ids": ["e1"]}
    health_entry(stored, health("e2"))
    assert stored == {"count": 1, "event_ids": ["e1"]}


def test_health_entry_keeps_last_50_ids() -> None:
    entry: dict[str, Any] | None = None
    for i in range(60):
        entry = health_entry(entry, health(f"e{i}"))
    assert entry is not None
    assert entry["count"] == 60
    assert entry["event_ids"] == [f"e{i}" for i in range(10, 60)]


# transcripts


def test_transcript_segments_ordered_by_start_then_id() -> None:
    stored = [
        segment_record(segment("s-20-0", start_s=7.0, text="third")),
        segment_record(segment("s-5-0", start_s=3.0, text="second b")),
        segment_record(segment("s-0-0", start_s=0.5, text="first", completed=True)),
        segment_record(segment("s-5-1", start_s=3.0, text="second c")),
        segment_record(segment("s-4-9", start_s=3.0, text="second a")),
    ]
    out = transcript_segments(stored)
    assert [s.text for s in out] == ["first", "second a", "second b", "second c", "third"]
    assert out[0] == TranscriptSegment(
        segment_id="s-0-0", start_s=0.5, end_s=2.0, start_time_ns=10**18 + 500_000_000,
        end_time_ns=10**18 + 2_000_000_000, text="first", completed=True, speaker="Ann", language="en",
    )


def test_transcript_segments_tolerates_missing_optional_fields() -> None:
    rec = segment_record(segment())
    del rec["speaker"], rec["language"]
    (s,) = transcript_segments([rec])
    assert (s.speaker, s.language) == (None, None)
    assert transcript_segments([]) == ()
