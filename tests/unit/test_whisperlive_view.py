"""What a WhisperLive client is sent, from its session's segment events."""

from __future__ import annotations

from dataclasses import replace

from stenograph.capture.whisperlive.view import SegmentView, is_session_end
from stenograph.schemas.events import SegmentEvent

RETIRED = 2**31 - 1


def seg(sid: str, text: str, start: float, end: float, *, completed: bool = True, revision: int = 0,
        session: str = "s", **kw: object) -> SegmentEvent:
    return SegmentEvent(tenant_id="t", meeting_id="m", run_id="live", session_id=session,
                        segment_id=sid, revision=revision, completed=completed, start_s=start,
                        end_s=end, start_time_ns=0, end_time_ns=0, text=text, model="tiny.en",
                        seq_first=0, seq_last=1, **kw)  # type: ignore[arg-type]


def test_interim_then_finals_replace_it() -> None:
    view = SegmentView("s")
    assert view.apply(seg("s-0-p", "hello wor", 0.0, 1.0, completed=False, revision=10))
    assert view.message_items() == [{"start": "0.000", "end": "1.000", "text": "hello wor",
                                     "completed": False}]
    assert view.apply(seg("s-0-0", "Hello world.", 0.0, 1.4))
    assert view.apply(seg("s-0-p", "", 0.0, 0.0, revision=RETIRED))
    assert view.message_items() == [{"start": "0.000", "end": "1.400", "text": "Hello world.",
                                     "completed": True}]
    assert view.settled_item() == {"start": "0.000", "end": "1.400", "text": "Hello world.",
                                   "completed": False}


def test_a_final_never_changes_and_old_revisions_are_ignored() -> None:
    view = SegmentView("s")
    view.apply(seg("s-0-p", "newer", 0.0, 1.0, completed=False, revision=20))
    assert not view.apply(seg("s-0-p", "older", 0.0, 1.0, completed=False, revision=10))
    view.apply(seg("s-0-0", "final", 0.0, 1.0))
    assert not view.apply(seg("s-0-0", "changed", 0.0, 1.0, revision=1))
    view.apply(seg("s-0-p", "", 0.0, 0.0, revision=RETIRED))
    assert not view.apply(seg("s-0-p", "revived", 0.0, 1.0, completed=False, revision=30))
    assert [i["text"] for i in view.message_items()] == ["final"]


def test_last_n_completed_then_the_open_segment() -> None:
    view = SegmentView("s", last_n=2)
    for i in range(4):
        view.apply(seg(f"s-{i}-0", f"t{i}", float(i), i + 0.5))
    view.apply(seg("s-9-p", "open", 4.0, 4.5, completed=False, revision=3))
    assert [(i["text"], i["completed"]) for i in view.message_items()] == [
        ("t2", True), ("t3", True), ("open", False)]
    assert view.settled_item() is None  # something is still open


def test_other_sessions_and_the_end_marker_are_not_shown() -> None:
    view = SegmentView("s")
    assert not view.apply(seg("x-0-0", "other", 0.0, 1.0, session="x"))
    end = seg("s-end", "", 0.0, 0.0, revision=RETIRED, session_end=True)
    assert is_session_end(end, "s") and not view.apply(end)
    assert view.message_items() == []


def test_the_detected_language_is_taken_once_with_its_confidence() -> None:
    view = SegmentView("s")
    view.apply(seg("s-0-0", "hola", 0.0, 1.0, language="es",
                   settings={"language_probability": "0.870"}))
    view.apply(replace(seg("s-1-0", "hi", 1.0, 2.0, language="en"),
                       settings={"language_probability": "0.990"}))
    assert view.language == ("es", 0.87)
