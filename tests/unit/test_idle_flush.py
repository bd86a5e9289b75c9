"""A session is flushed as stalled only when its source is: frames waiting unread on its
partition mean the worker was busy decoding, and a flush then would cut its chunks and windows
by how fast the machine is (a loaded machine once transcribed a meeting differently)."""

from __future__ import annotations

import asyncio
import time

from stenograph.transcribe.integrity import StreamTracker
from stenograph.transcribe.policy import BufferedFrame, Chunk, ChunkBuffer
from stenograph.transcribe.segments import SessionRef
from stenograph.transcribe.settings import TranscriberSettings
from stenograph.transcribe.settle import SettleBuffer
from stenograph.transcribe.worker import PartitionState, SessionState, TranscriberWorker


class Core:
    def __init__(self, unread: int, answered: bool) -> None:
        self.records_unread = unread
        self.answered = answered

    def unread(self, tp: object) -> int:
        return self.records_unread

    def answered_within(self, tp: object, seconds: float) -> bool:
        return self.answered


def stalled_worker(unread: int, answered: bool = True) -> tuple[TranscriberWorker, SessionState, list[Chunk]]:
    worker = TranscriberWorker(TranscriberSettings(idle_flush_s=10, settle_idle_flush_s=60), model=None)  # type: ignore[arg-type]
    worker.core = Core(unread, answered)  # type: ignore[assignment]
    state = SessionState(ref=SessionRef("t", "m", "s", 0), tracker=StreamTracker(next_seq=5),
                         buffer=ChunkBuffer(), last_offset=4, settle=SettleBuffer(window_s=35.0))
    for i in range(5):
        frame = BufferedFrame(seq=i, offset=i, capture_time_ns=i * 10**8, payload=b"\x10\x00" * 1600,
                              duration_s=0.1, speech=0.9, zero=False)
        state.buffer.push(frame)
        assert state.settle is not None
        state.settle.push(frame)
    state.last_seen = time.monotonic() - 90  # nothing read for longer than both flush limits
    worker.partitions = {"tp": PartitionState(sessions={"s": state})}  # type: ignore[dict-item]
    flushed: list[Chunk] = []

    async def transcribe(_: SessionState, chunk: Chunk) -> bool:
        flushed.append(chunk)
        return True

    worker._transcribe = transcribe  # type: ignore[method-assign]
    return worker, state, flushed


def test_a_session_with_frames_waiting_is_not_flushed_as_stalled() -> None:
    worker, state, flushed = stalled_worker(unread=4)  # four frames behind a long decode
    assert not asyncio.run(worker._flush_idle())
    assert flushed == []
    assert state.settle is not None and not state.settle.ended


def test_a_session_whose_source_stalled_is_flushed() -> None:
    worker, state, flushed = stalled_worker(unread=0)  # everything read: the source went quiet
    assert asyncio.run(worker._flush_idle())
    assert [len(c.frames) for c in flushed] == [5]
    assert state.settle is not None and state.settle.ended


def test_a_session_whose_partition_goes_unanswered_is_not_flushed_as_stalled() -> None:
    """A broker SIGKILLed in a three-broker cluster left its partitions unanswered for longer than
    the idle limit while another was elected: the flush then cut the live chunks differently."""
    worker, state, flushed = stalled_worker(unread=0, answered=False)
    assert not asyncio.run(worker._flush_idle())
    assert flushed == []
    assert state.settle is not None and not state.settle.ended
