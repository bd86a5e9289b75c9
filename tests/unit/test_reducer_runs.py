"""aggregate/reducer.py: the audio index and the run listing, merged in any event order."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from stenograph.readmodel.reducer import audio_index_entry, run_entry
from stenograph.schemas.events import AudioSessionIndexed, RunProgress

START_NS = 1_700_000_000_000_000_000


def indexed(first: int, last: int | None = None, *, frames: int = 0, audio_s: float = 0.0,
            at: int = 0) -> AudioSessionIndexed:
    return AudioSessionIndexed(
        tenant_id="t", meeting_id="m", event_time_ns=START_NS + at, session_id="s1",
        platform="zoom", native_meeting_id="123", topic="meetings.audio", partition=3,
        first_offset=first, last_offset=last, frames=frames, audio_s=audio_s, started_at_ns=START_NS,
    )


def apply_index(events: list[AudioSessionIndexed]) -> dict[str, Any] | None:
    """Like the sink: the entry goes through JSON between events."""
    stored: dict[str, Any] | None = None
    for e in events:
        stored = json.loads(json.dumps(audio_index_entry(stored, e)))
    return stored


# audio_index_entry


def test_index_first_event() -> None:
    entry = audio_index_entry(None, indexed(100))
    assert entry == {"topic": "meetings.audio", "partition": 3, "first_offset": 100, "last_offset": None,
                     "frames": 0, "audio_s": 0.0, "started_at_ns": START_NS}


def test_index_min_first_offset() -> None:
    entry = audio_index_entry(audio_index_entry(None, indexed(120)), indexed(100))
    assert entry["first_offset"] == 100
    entry = audio_index_entry(audio_index_entry(None, indexed(100)), indexed(120))
    assert entry["first_offset"] == 100


def test_index_max_last_offset() -> None:
    entry = audio_index_entry(audio_index_entry(None, indexed(100, 500)), indexed(100, 300))
    assert entry["last_offset"] == 500
    entry = audio_index_entry(audio_index_entry(None, indexed(100, 300)), indexed(100, 500))
    assert entry["last_offset"] == 500


def test_index_last_offset_none_until_known() -> None:
    entry = audio_index_entry(None, indexed(100))
    assert entry["last_offset"] is None
    entry = audio_index_entry(entry, indexed(100, None, frames=10))
    assert entry["last_offset"] is None
    entry = audio_index_entry(entry, indexed(100, 250, frames=150))
    assert entry["last_offset"] == 250
    # a later "still capturing" event (None) does not forget the known end
    entry = audio_index_entry(entry, indexed(100, None, frames=20))
    assert entry["last_offset"] == 250


def test_index_frames_and_audio_s_only_grow() -> None:
    entry = audio_index_entry(None, indexed(100, 249, frames=150, audio_s=15.0))
    entry = audio_index_entry(entry, indexed(100, None, frames=50, audio_s=5.0))
    assert (entry["frames"], entry["audio_s"]) == (150, 15.0)


def test_index_does_not_mutate_stored() -> None:
    stored = audio_index_entry(None, indexed(100))
    before = dict(stored)
    audio_index_entry(stored, indexed(50, 300, frames=9))
    assert stored == before


def test_index_keeps_unknown_stored_fields() -> None:
    entry = audio_index_entry({"note": "x", "first_offset": 7}, indexed(100))
    assert entry["note"] == "x"
    assert entry["first_offset"] == 7


INDEX_EVENTS = [
    indexed(100, at=1),
    indexed(100, None, frames=50, audio_s=5.0, at=2),
    indexed(100, 180, frames=80, audio_s=8.0, at=3),
    indexed(100, 249, frames=150, audio_s=15.0, at=4),
]


def test_index_any_order_gives_the_same_entry() -> None:
    expected = apply_index(INDEX_EVENTS)
    assert expected == {"topic": "meetings.audio", "partition": 3, "first_offset": 100,
                        "last_offset": 249, "frames": 150, "audio_s": 15.0, "started_at_ns": START_NS}
    for order in itertools.permutations(INDEX_EVENTS):
        assert apply_index(list(order)) == expected


def test_index_redelivery_is_idempotent() -> None:
    expected = apply_index(INDEX_EVENTS)
    assert apply_index([*INDEX_EVENTS, *INDEX_EVENTS[::-1]]) == expected


# run_entry


def progress(state: str, at: int, *, run_id: str = "r-1", progress: float = 0.0, eta: float | None = None,
             segments: int = 0, error: str | None = None, model: str = "base") -> RunProgress:
    return RunProgress(
        tenant_id="t", meeting_id="m", event_id=f"{run_id}:{state}:{at}", event_time_ns=START_NS + at,
        run_id=run_id, state=state, model=model, language="de", task="translate", progress=progress,
        eta_s=eta, audio_s=60.0, segments=segments, error=error,
    )


def apply_runs(events: list[RunProgress]) -> dict[str, Any] | None:
    """Like the sink: None means nothing to store; stored values go through JSON."""
    stored: dict[str, Any] | None = None
    for e in events:
        entry = run_entry(stored, e)
        if entry is not None:
            stored = json.loads(json.dumps(entry))
    return stored


def test_run_first_event() -> None:
    entry = run_entry(None, progress("requested", 10))
    assert entry == {
        "run_id": "r-1", "state": "requested", "model": "base", "language": "de", "task": "translate",
        "progress": 0.0, "eta_s": None, "audio_s": 60.0, "segments": 0, "error": None,
        "created_ns": START_NS + 10, "updated_ns": START_NS + 10,
    }


def test_run_latest_event_wins() -> None:
    stored = run_entry(None, progress("requested", 10))
    entry = run_entry(stored, progress("running", 20, progress=0.5, eta=30.0, segments=4))
    assert entry is not None
    assert (entry["state"], entry["progress"], entry["eta_s"], entry["segments"]) == ("running", 0.5, 30.0, 4)
    assert (entry["created_ns"], entry["updated_ns"]) == (START_NS + 10, START_NS + 20)


def test_run_older_event_only_lowers_created_ns() -> None:
    stored = run_entry(None, progress("completed", 30, progress=1.0, segments=9))
    assert stored is not None
    entry = run_entry(stored, progress("requested", 10))
    assert entry is not None
    assert entry == {**stored, "created_ns": START_NS + 10}
    assert entry["state"] == "completed"
    assert entry["updated_ns"] == START_NS + 30


def test_run_older_event_not_lowering_created_changes_nothing() -> None:
    stored = apply_runs([progress("requested", 10), progress("completed", 30, progress=1.0)])
    assert run_entry(stored, progress("running", 20, progress=0.5)) is None


def test_run_does_not_mutate_stored() -> None:
    stored = run_entry(None, progress("completed", 30))
    assert stored is not None
    before = dict(stored)
    run_entry(stored, progress("requested", 10))
    run_entry(stored, progress("failed", 40, error="boom"))
    assert stored == before


def test_run_failed_keeps_error() -> None:
    entry = apply_runs([progress("requested", 10), progress("running", 20),
                        progress("failed", 30, error="model crashed")])
    assert entry is not None
    assert (entry["state"], entry["error"]) == ("failed", "model crashed")


def test_run_redelivery_of_the_latest_event_is_idempotent() -> None:
    stored = apply_runs([progress("requested", 10), progress("running", 20, progress=0.5)])
    again = run_entry(stored, progress("running", 20, progress=0.5))
    assert again is None or again == stored


def test_live_run_registered_once() -> None:
    first = run_entry(None, progress("live", 10, run_id="live", model="tiny.en"))
    assert first is not None
    assert (first["run_id"], first["state"], first["created_ns"]) == ("live", "live", START_NS + 10)
    assert run_entry(first, progress("live", 20, run_id="live", model="tiny.en")) is None
    assert run_entry(first, progress("live", 10_000, run_id="live", model="tiny.en")) is None


def test_live_run_earlier_segment_lowers_created_ns() -> None:
    first = run_entry(None, progress("live", 20, run_id="live", model="tiny.en"))
    assert first is not None
    entry = run_entry(first, progress("live", 10, run_id="live", model="tiny.en"))
    assert entry is not None
    assert entry == {**first, "created_ns": START_NS + 10}


RUN_EVENTS = [
    progress("requested", 10),
    progress("running", 20, progress=0.0, eta=None),
    progress("running", 30, progress=0.4, eta=45.0, segments=3),
    progress("running", 40, progress=0.8, eta=10.0, segments=7),
    progress("completed", 50, progress=1.0, eta=0.0, segments=9),
]


def test_run_any_order_gives_the_same_entry() -> None:
    expected = apply_runs(RUN_EVENTS)
    assert expected is not None
    assert (expected["state"], expected["progress"], expected["segments"]) == ("completed", 1.0, 9)
    assert (expected["created_ns"], expected["updated_ns"]) == (START_NS + 10, START_NS + 50)
    for order in itertools.permutations(RUN_EVENTS):
        assert apply_runs(list(order)) == expected


@pytest.mark.parametrize("repeat", [1, 2])
def test_run_any_order_with_redeliveries(repeat: int) -> None:
    expected = apply_runs(RUN_EVENTS)
    for order in itertools.permutations(RUN_EVENTS[::2]):
        events = [*RUN_EVENTS[1::2], *list(order) * repeat]
        assert apply_runs(events) == expected


def test_equal_times_and_clock_skew_cannot_move_a_run_backwards() -> None:
    def ev(state: str, t: int) -> RunProgress:
        return RunProgress(tenant_id="t", meeting_id="m", event_time_ns=t, run_id="r", state=state,
                           model="base")

    for events in ([ev("running", 5), ev("completed", 5)], [ev("completed", 5), ev("running", 5)]):
        entry = None
        for e in events:
            entry = run_entry(entry, e) or entry
        assert entry is not None and entry["state"] == "completed"
    # the replayer's clock is behind the API's: its running event still supersedes requested
    entry = run_entry(None, ev("requested", 100))
    entry = run_entry(entry, ev("running", 50)) or entry
    assert entry["state"] == "running"
