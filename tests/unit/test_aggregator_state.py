"""aggregate/state.py over plain dicts: the decisions the aggregator makes without reading Redis."""

from __future__ import annotations

from typing import Any

from stenograph.aggregate.state import AggregatorState
from stenograph.schemas import SegmentEvent, SpeakerActivity


def seg(sid: str, revision: int, *, completed: bool, text: str = "hi", run: str = "live") -> SegmentEvent:
    return SegmentEvent(tenant_id="t", meeting_id="m", run_id=run, session_id="s", segment_id=sid,
                        revision=revision, completed=completed, start_s=0, end_s=1, start_time_ns=0,
                        end_time_ns=1, text=text, model="tiny.en", seq_first=0, seq_last=1)


def test_latest_revision_wins_and_only_open_segments_are_kept() -> None:
    state = AggregatorState.in_memory()
    assert state.accept(seg("p", 3, completed=False))
    assert not state.accept(seg("p", 2, completed=False))  # older
    assert state.accept(seg("p", 3, completed=False))  # the same again: idempotent rewrite
    assert state.revisions == {"t/m/live/p": 3}
    assert state.accept(seg("p", 4, completed=True, text=""))  # retired
    assert state.revisions == {}  # completed: final, nothing to remember
    assert not state.accept(seg("never-held", 9, completed=True, text=""))  # nothing to retire
    assert state.accept(seg("f", 0, completed=True)) and state.revisions == {}
    assert state.accept(seg("p", 1, completed=False, run="settled"))  # runs are apart


def test_speaking_indicators_are_kept_once_per_event() -> None:
    state = AggregatorState.in_memory()
    on: dict[str, Any] = {"tenant_id": "t", "meeting_id": "m", "session_id": "s", "participant_id": "p1",
                          "name": "Ann", "speaking": True, "at_ns": 5}
    state.add_speaking(SpeakerActivity(event_id="e1", **on))
    state.add_speaking(SpeakerActivity(event_id="e1", **on))  # re-delivered
    state.add_speaking(SpeakerActivity(event_id="e2", **{**on, "speaking": False, "at_ns": 9}))
    assert [(i.name, i.speaking, i.at_ns) for i in state.indicators("t", "m", 0, 10)] == [
        ("Ann", True, 5), ("Ann", False, 9)]
    assert state.indicators("t", "other", 0, 10) == []


def test_speaking_is_kept_a_minute_an_entry_and_read_around_the_segment() -> None:
    state = AggregatorState.in_memory()
    minute = 60 * 10**9
    for n, at in enumerate((5, 3 * minute, 30 * minute, 30 * minute + 5)):
        state.add_speaking(SpeakerActivity(tenant_id="t", meeting_id="m", event_id=f"e{n}", session_id="s",
                                           participant_id="p1", name="Ann", speaking=n % 2 == 0, at_ns=at))
    assert len(state.speaking) == 3  # minutes 0, 3 and 30
    near = state.indicators("t", "m", 30 * minute + 1, 30 * minute + 2)
    assert [i.at_ns for i in near] == [30 * minute, 30 * minute + 5]  # 10 minutes back, not more
    assert [i.at_ns for i in state.indicators("t", "m", 4 * minute, 5 * minute)] == [5, 3 * minute]


def test_an_erased_meeting_forgets_its_state() -> None:
    state = AggregatorState.in_memory()
    state.accept(seg("p", 1, completed=False))
    state.add_speaking(SpeakerActivity(tenant_id="t", meeting_id="m", event_id="e1", session_id="s",
                                       participant_id="p1", name="Ann", speaking=True, at_ns=5))
    state.erase("t", "m")
    assert state.is_erased("t", "m") and not state.is_erased("t", "other")
    assert state.revisions == {} and state.speaking == {}
