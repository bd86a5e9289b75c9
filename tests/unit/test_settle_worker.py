"""transcribe/worker.py with a fake model and producer: settling windows are decoded in order,
their segments go out as the settled run, and a window whose decode fails leaves the session's
live finals in place and says why."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from stenograph.schemas.codec import codec
from stenograph.schemas.events import SETTLED_RUN, RunProgress, SegmentEvent
from stenograph.schemas.topics import LIFECYCLE, SEGMENTS
from stenograph.transcribe.integrity import StreamTracker
from stenograph.transcribe.model import DecodeOptions, ModelSegment, ModelWord, Transcription
from stenograph.transcribe.policy import BufferedFrame, ChunkBuffer
from stenograph.transcribe.segments import SessionRef
from stenograph.transcribe.settings import TranscriberSettings
from stenograph.transcribe.settle import SettleBuffer
from stenograph.transcribe.worker import PartitionState, SessionState, TranscriberWorker


class FakeModel:
    name = "fake"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[float] = []

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, lead: int = 0) -> Transcription:
        self.calls.append((len(audio) - lead) / 16000)
        if self.fail:
            raise RuntimeError("model crashed")
        end = (len(audio) - lead) / 16000
        word = ModelWord(" hello", 0.5, end - 0.5, 0.9)
        return Transcription((ModelSegment(0.5, end - 0.5, " hello", (word,), -0.2, 0.01, 1.1),), "en", 1.0)

    def detect(self, audio: np.ndarray) -> tuple[str, float]:
        return "en", 1.0


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> asyncio.Future[None]:
        self.sent.append((topic, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.sent.append((topic, value))


def worker_with(model: FakeModel, seconds: float) -> tuple[TranscriberWorker, FakeProducer, SessionState]:
    settings = TranscriberSettings(settle_window_s=3.0)
    worker = TranscriberWorker(settings, model)
    producer = FakeProducer()
    worker._producer = producer  # type: ignore[assignment]
    settle = SettleBuffer(window_s=3.0)
    for i in range(int(seconds * 10)):
        settle.push(BufferedFrame(seq=i, offset=i, capture_time_ns=i * 10**8, payload=b"\x10\x00" * 1600,
                                  duration_s=0.1, speech=0.9, zero=False))
    state = SessionState(ref=SessionRef("t", "m", "s", 0), tracker=StreamTracker(next_seq=int(seconds * 10)),
                         buffer=ChunkBuffer(), last_offset=0, settle=settle, done=True)
    settle.ended = True
    worker.partitions = {"tp": PartitionState(sessions={"s": state})}  # type: ignore[dict-item]
    return worker, producer, state


def decoded(producer: FakeProducer, topic: str) -> list[Any]:
    base = SEGMENTS if topic == "meetings.segments" else LIFECYCLE
    return [codec(base).decode(v) for t, v in producer.sent if t == topic]


def test_windows_settle_in_order_and_the_session_says_when_it_is_complete() -> None:
    model = FakeModel()
    worker, producer, state = worker_with(model, 4.0)

    async def drive() -> None:
        while await worker._settle_next():
            pass
        await worker._settle_next()  # the settled session end goes out once the buffer is empty

    asyncio.run(drive())
    assert model.calls == [3.0, 1.0]
    events = [e for e in decoded(producer, "meetings.segments") if isinstance(e, SegmentEvent)]
    assert [e.run_id for e in events] == [SETTLED_RUN] * 3
    assert [e.settles_until_s for e in events[:2]] == [3.0, 4.0]
    assert events[-1].segment_id == "s-end" and state.settled_closed


def test_a_failed_settling_keeps_the_live_finals_and_says_why() -> None:
    worker, producer, state = worker_with(FakeModel(fail=True), 4.0)
    asyncio.run(worker._settle_next())
    assert state.settle is None and state.first_offset is None  # nothing held back any more
    (failed,) = decoded(producer, "meetings.lifecycle")
    assert isinstance(failed, RunProgress) and failed.run_id == SETTLED_RUN and failed.state == "failed"
    assert failed.error == "RuntimeError: model crashed"
    assert decoded(producer, "meetings.segments") == []


def test_a_settling_backlog_over_two_windows_stops_the_fetching() -> None:
    worker, _, state = worker_with(FakeModel(), 7.0)  # windows of 3 s
    assert worker._settling_behind()
    asyncio.run(worker._settle_next(force=True))
    assert not worker._settling_behind()
    assert state.settle is not None and abs(state.settle.seconds - 4.0) < 1e-6
