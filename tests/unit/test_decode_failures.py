"""transcribe/worker.py when the model raises: a chunk it cannot take (tried twice with its
context, then alone, while the model still decodes a probe the same way) is reported and passed
over, not a crash that every restart repeats; a model that fails the probe too, or a run of
chunks passed over, ends the worker; a failed interim is only a missing preview."""

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
from stenograph.transcribe.worker import (
    PASSED_OVER_LIMIT,
    PartitionState,
    SessionState,
    TranscriberWorker,
)
from tests.unit.test_settle_worker import FakeProducer, decoded

POISON = 0x0777  # a chunk of these samples makes the model raise


class PickyModel:
    """Raises on audio holding POISON, on the first `flaky` calls whatever the audio, and on every
    beam search once `beam_broken` is set (a broken path the tone probe's options would miss)."""

    name = "fake"

    def __init__(self, flaky: int = 0) -> None:
        self.flaky = flaky
        self.beam_broken = False
        self.calls: list[float] = []  # seconds of audio of each call
        self.detections = 0

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, lead: int = 0) -> Transcription:
        self.calls.append(len(audio) / 16000)
        if len(self.calls) <= self.flaky or np.any(audio == np.float32(POISON / 32768)) \
                or (self.beam_broken and options.beam_size > 1):
            raise RuntimeError("cannot decode this")
        end = len(audio) / 16000
        word = ModelWord(" hello", end - 1.0, end - 0.5, 0.9)
        segment = ModelSegment(end - 1.0, end - 0.5, " hello", (word,), -0.2, 0.01, 1.1)
        return Transcription((segment,), "en", 1.0)

    def detect(self, audio: np.ndarray) -> tuple[str, float]:
        self.detections += 1
        return "en", 1.0


def chunk(first: int, sample: int, n: int = 50) -> Chunk:
    return Chunk(tuple(BufferedFrame(seq=i, offset=i, capture_time_ns=i * 10**8,
                                     payload=sample.to_bytes(2, "little") * 1600, duration_s=0.1,
                                     speech=0.9, zero=False) for i in range(first, first + n)))


def worker_with(model: PickyModel, language: str | None = "en",
                ) -> tuple[TranscriberWorker, FakeProducer, SessionState]:
    settings = TranscriberSettings(language=language)  # 5 s of left context, as deployed
    worker = TranscriberWorker(settings, model)
    producer = FakeProducer()
    worker._producer = producer  # type: ignore[assignment]
    state = SessionState(ref=SessionRef("t", "m", "s", 0), tracker=StreamTracker(), buffer=ChunkBuffer(),
                         last_offset=0, context=ContextTail(max_s=settings.context_s))
    worker.partitions = {"tp": PartitionState(sessions={"s": state})}  # type: ignore[dict-item]
    return worker, producer, state


def finals(producer: FakeProducer) -> list[SegmentEvent]:
    return [e for e in decoded(producer, "meetings.segments")
            if isinstance(e, SegmentEvent) and e.completed and e.text]


def retired(producer: FakeProducer) -> list[int]:
    return [e.seq_first for e in decoded(producer, "meetings.segments")
            if isinstance(e, SegmentEvent) and e.retires]


def test_a_chunk_the_model_cannot_take_is_reported_and_the_next_is_transcribed() -> None:
    model = PickyModel()
    worker, producer, state = worker_with(model)

    async def drive() -> None:
        await worker._transcribe(state, chunk(0, 0x0100))
        await worker._transcribe(state, chunk(50, POISON))
        await worker._transcribe(state, chunk(100, 0x0100))

    asyncio.run(drive())
    # the poison chunk twice with its 5 s of context, then alone, then the probe (the last chunk
    # decoded, 5 s); the chunk after it is decoded without the poison as context
    assert model.calls == [5.0, 10.0, 10.0, 5.0, 5.0, 5.0]
    assert [e.seq_first for e in finals(producer)] == [0, 100]
    (error,) = decoded(producer, "meetings.lifecycle")
    assert isinstance(error, RunProgress) and error.run_id == LIVE_RUN
    assert error.error == ("5.0-10.0 s of session s (frames 50-99) not transcribed: "
                           "RuntimeError: cannot decode this")
    assert retired(producer) == [0, 50, 100]  # its interim (if one was shown) retires all the same


def test_a_context_the_model_cannot_take_costs_only_the_context() -> None:
    model = PickyModel()
    worker, producer, state = worker_with(model)
    state.context.extend(chunk(0, POISON).frames)  # as a restart re-reads it before the chunk
    asyncio.run(worker._transcribe(state, chunk(50, 0x0100)))
    assert model.calls == [10.0, 10.0, 5.0]
    assert [e.seq_first for e in finals(producer)] == [50]
    assert decoded(producer, "meetings.lifecycle") == []


def test_a_fault_that_passes_is_ridden_out_with_the_same_audio() -> None:
    model = PickyModel(flaky=1)
    worker, producer, state = worker_with(model)
    state.context.extend(chunk(0, 0x0100).frames)
    asyncio.run(worker._transcribe(state, chunk(50, 0x0100)))
    assert model.calls == [10.0, 10.0] and len(finals(producer)) == 1  # with its context both times
    assert decoded(producer, "meetings.lifecycle") == []


def test_a_model_that_fails_the_probe_too_ends_the_worker_and_passes_nothing_over() -> None:
    model = PickyModel(flaky=10**6)
    worker, producer, state = worker_with(model)
    with pytest.raises(RuntimeError, match="cannot decode this"):
        asyncio.run(worker._transcribe(state, chunk(0, 0x0100)))
    assert model.calls == [5.0, 5.0, 1.0]  # the chunk twice, then the tone: nothing decoded here yet
    assert producer.sent == []  # no error said, no interim retired: a restart decodes the chunk again


def test_the_probe_takes_the_path_that_failed() -> None:
    model = PickyModel()
    worker, producer, state = worker_with(model)
    asyncio.run(worker._transcribe(state, chunk(0, 0x0100)))
    model.beam_broken = True  # beam search breaks: a tone with one beam would still decode
    with pytest.raises(RuntimeError, match="cannot decode this"):
        asyncio.run(worker._transcribe(state, chunk(50, 0x0100)))
    assert model.calls == [5.0, 10.0, 10.0, 5.0, 5.0]  # the probe: the last chunk decoded, beam 5
    assert decoded(producer, "meetings.lifecycle") == []


def test_chunks_passed_over_in_a_row_end_the_worker() -> None:
    worker, producer, state = worker_with(PickyModel())

    async def drive() -> None:
        await worker._transcribe(state, chunk(0, 0x0100))
        for i in range(PASSED_OVER_LIMIT - 1):
            await worker._transcribe(state, chunk(50 + 50 * i, POISON))
        await worker._transcribe(state, chunk(500, 0x0100))  # a final decoded: the count starts again
        for i in range(PASSED_OVER_LIMIT - 1):
            await worker._transcribe(state, chunk(600 + 50 * i, POISON))
        await worker._transcribe(state, chunk(1000, POISON))

    with pytest.raises(RuntimeError, match="cannot decode this"):
        asyncio.run(drive())
    assert len(decoded(producer, "meetings.lifecycle")) == 2 * (PASSED_OVER_LIMIT - 1)
    assert [e.seq_first for e in finals(producer)] == [0, 500]


def test_a_detected_language_is_detected_once_and_kept_only_from_a_decoded_chunk() -> None:
    model = PickyModel()
    worker, producer, state = worker_with(model, language=None)
    asyncio.run(worker._transcribe(state, chunk(0, POISON)))
    # once for the chunk, once on the probe (the tone: nothing decoded here yet)
    assert model.detections == 2 and state.detected_language is None
    asyncio.run(worker._transcribe(state, chunk(50, 0x0100)))
    assert model.detections == 3 and state.detected_language == "en"
    assert [e.language for e in finals(producer)] == ["en"]


def test_a_failed_interim_is_only_a_missing_preview() -> None:
    model = PickyModel()
    worker, producer, state = worker_with(model)
    for f in chunk(0, POISON, 20).frames:
        state.buffer.push(f)
    assert asyncio.run(worker._interim(state)) is False
    assert model.calls == [2.0] and producer.sent == []
