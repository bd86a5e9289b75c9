"""Live subscribers: each final once, interims only when grown, never rolled back."""

from __future__ import annotations

from stenograph.api.liveview import LiveView, wire
from stenograph.schemas.events import TranscriptSegment


def seg(sid: str, text: str, start: float, end: float, completed: bool) -> TranscriptSegment:
    return TranscriptSegment(segment_id=sid, start_s=start, end_s=end, start_time_ns=10**18,
                             end_time_ns=10**18 + int(end * 1e9), text=text, completed=completed)


def ids(pair: tuple[list[TranscriptSegment], list[TranscriptSegment]]) -> tuple[list[str], list[str]]:
    return [s.segment_id for s in pair[0]], [s.segment_id for s in pair[1]]


def test_snapshot_then_overlapping_updates_send_nothing_twice() -> None:
    view = LiveView()
    snapshot = [seg("a", "one", 0, 1, True), seg("p", "two thr", 1, 2.5, False)]
    assert ids(view.apply(snapshot)) == (["p"], ["a"])
    stale = [seg("a", "one", 0, 1, True), seg("p", "two", 1, 2.0, False)]  # published before it
    assert ids(view.apply(stale)) == ([], [])
    assert ids(view.apply(snapshot)) == ([], [])
    grown = [seg("a", "one", 0, 1, True), seg("p", "two three", 1, 3.0, False)]
    assert ids(view.apply(grown)) == (["p"], [])
    settled = [seg("a", "one", 0, 1, True), seg("b", "two three.", 1, 3.1, True)]
    assert ids(view.apply(settled)) == ([], ["b"])


def test_a_final_is_never_followed_by_its_interim() -> None:
    view = LiveView()
    view.apply([seg("x", "done", 0, 1, True)])
    assert ids(view.apply([seg("x", "late interim", 0, 5, False)])) == ([], [])


def test_wire_shape() -> None:
    w = wire(seg("a", "hi", 0.5, 1.25, True))
    assert w["absolute_start_time"] == "2001-09-09T01:46:40+00:00"
    assert (w["start"], w["end"], w["completed"], w["segment_id"]) == (0.5, 1.25, True, "a")
