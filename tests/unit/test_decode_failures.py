"""transcribe/worker.py when the model raises: a chunk it cannot take is reported and passed over
(tried twice), not a crash that every restart repeats; several chunks in a row failing is the
model's failure and ends the worker; a failed interim is only a missing preview."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from stenograph.schemas.events import LIVE_RUN, RunProgress, SegmentEvent
from stenograph.transcribe.integrity import StreamTracker
from stenograph.transcribe.model import DecodeOptions, ModelSegment, ModelWord, Transcription
from stenograph.transcribe.policy import BufferedFrame, Chunk, ChunkBuffer, ContextTail
from stenograph.transcribe.segments import SessionRef
from stenograph.transcribe.settings import TranscriberSettings
from stenograph.transcribe.worker import FAILED_FINALS_LIMIT, PartitionState, SessionState, TranscriberWorker
from tests.unit.test_settle_worker import FakeProducer, decoded

POISON = 0x0777  # a chunk of these samples makes the model raise


class PickyModel:
    """Raises on audio holding POISON, and on the first `flaky` calls whatever the audio."""

    name = "fake"

    def __init__(self, flaky: int = 0) -> None:
        self.flaky = flaky
        self.calls = 0

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, lead: int = 0) -> Transcription:
        self.calls += 1
        if self.calls <= self.flaky or np.any(np.isclose(audio, POISON / 32768)):
            raise RuntimeError("cannot decode this")
        end = len(audio) / 16000
        word = ModelWord(" hello", end - 1.0, end - 0.5, 0.9)
        segment = ModelSegment(end - 1.0, end - 0.5, " hello", (word,), -0.2, 0.01, 1.1)
        return Transcription((segment,), "en", 1.0)

    def detect(self, audio: np.ndarray) -> tuple[str, float]:
        return "en", 1.0


def chunk(first: int, sample: int, n: int = 50) -> Chunk:
    return Chunk(tuple(BufferedFrame(seq=i, offset=i, capture_time_ns=i * 10**8,
                                     payload=sample.to_bytes(2, "little") * 1600, duration_s=0.1,
                                     speech=0.9, zero=False) for i in range(first, first + n)))


def worker_with(model: PickyModel) -> tuple[TranscriberWorker, FakeProducer, SessionState]:
    worker = TranscriberWorker(TranscriberSettings(language="en", context_s=0.0), model)
    producer = FakeProducer()
    worker._producer = producer  # type: ignore[assignment]
    state = SessionState(ref=SessionRef("t", "m", "s", 0), tracker=StreamTracker(), buffer=ChunkBuffer(),
                         last_offset=0, context=ContextTail(max_s=0.0))
    worker.partitions = {"tp": PartitionState(sessions={"s": state})}  # type: ignore[dict-item]
    return worker, producer, state


def finals(producer: FakeProducer) -> list[SegmentEvent]:
    return [e for e in decoded(producer, "meetings.segments")
            if isinstance(e, SegmentEvent) and e.completed and e.text]


def test_a_chunk_the_model_cannot_take_is_reported_and_the_next_is_transcribed() -> None:
    model = PickyModel()
    worker, producer, state = worker_with(model)

    async def drive() -> None:
        await worker._transcribe(state, chunk(0, 0x0100))
        await worker._transcribe(state, chunk(50, POISON))
        await worker._transcribe(state, chunk(100, 0x0100))

    asyncio.run(drive())
    assert model.calls == 4  # the poison chunk was tried twice
    assert [e.seq_first for e in finals(producer)] == [0, 100]
    (error,) = decoded(producer, "meetings.lifecycle")
    assert isinstance(error, RunProgress) and error.run_id == LIVE_RUN
    assert error.error == "frames 50-99 of session s not transcribed: RuntimeError: cannot decode this"
    # its interim (if one was shown) retires all the same
    retired = [e for e in decoded(producer, "meetings.segments") if isinstance(e, SegmentEvent) and e.retires]
    assert [e.seq_first for e in retired] == [0, 50, 100]


def test_a_decode_that_fails_once_is_tried_again() -> None:
    model = PickyModel(flaky=1)
    worker, producer, state = worker_with(model)
    asyncio.run(worker._transcribe(state, chunk(0, 0x0100)))
    assert model.calls == 2 and len(finals(producer)) == 1
    assert decoded(producer, "meetings.lifecycle") == []


def test_chunks_failing_in_a_row_are_the_models_failure() -> None:
    worker, producer, state = worker_with(PickyModel())

    async def drive() -> None:
        for i in range(FAILED_FINALS_LIMIT - 1):
            await worker._transcribe(state, chunk(50 * i, POISON))
        await worker._transcribe(state, chunk(500, 0x0100))  # a success starts the count again
        for i in range(FAILED_FINALS_LIMIT - 1):
            await worker._transcribe(state, chunk(600 + 50 * i, POISON))
        await worker._transcribe(state, chunk(1000, POISON))

    with pytest.raises(RuntimeError, match="cannot decode this"):
        asyncio.run(drive())
    assert len(decoded(producer, "meetings.lifecycle")) == 2 * (FAILED_FINALS_LIMIT - 1)
    assert [e.seq_first for e in finals(producer)] == [500]


def test_a_failed_interim_is_only_a_missing_preview() -> None:
    worker, producer, state = worker_with(PickyModel())
    for f in chunk(0, POISON, 20).frames:
        state.buffer.push(f)
    assert asyncio.run(worker._interim(state)) is False
    assert producer.sent == []
