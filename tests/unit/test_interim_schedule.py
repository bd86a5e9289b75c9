"""transcribe/worker.py: which open chunk gets the next interim decode."""

from __future__ import annotations

from stenograph.transcribe.integrity import StreamTracker
from stenograph.transcribe.policy import BufferedFrame, ChunkBuffer
from stenograph.transcribe.segments import SessionRef
from stenograph.transcribe.worker import SessionState, interims_due


def session(name: str, frames: int, heard_s: float, *, done: bool = False) -> SessionState:
    buf = ChunkBuffer()
    for i in range(frames):  # 0.1 s frames, all speech, too few to cut a chunk
        buf.push(BufferedFrame(seq=i, offset=i, capture_time_ns=0, payload=b"\x00\x01" * 1600,
                               duration_s=0.1, speech=0.9, zero=False))
    return SessionState(ref=SessionRef("t", name, name, 0), tracker=StreamTracker(), buffer=buf,
                        last_offset=0, interim_heard_s=heard_s, done=done)


def names(due: list[SessionState]) -> list[str]:
    return [s.ref.meeting_id for s in due]


def test_most_unshown_audio_goes_first() -> None:
    sessions = [session("a", 20, 0.5), session("b", 40, 1.0), session("c", 30, 0.0)]
    assert names(interims_due(sessions, 1.0)) == ["b", "c", "a"]  # 3.0, 3.0 (a tie keeps order), 1.5 s


def test_less_than_an_interval_of_new_audio_waits() -> None:
    sessions = [session("a", 10, 0.0), session("b", 19, 1.0), session("c", 25, 1.0)]
    assert names(interims_due(sessions, 1.0)) == ["c", "a"]  # exactly 1.0 s counts, 0.9 s does not


def test_ended_sessions_and_disabled_interims_get_none() -> None:
    assert interims_due([session("a", 30, 0.0, done=True)], 1.0) == []
    assert interims_due([session("a", 30, 0.0)], 0.0) == []
