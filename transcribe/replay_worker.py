"""The replayer: ReplayRequested -> read the stored frames -> transcribe offline-style -> segments.

Each replay is its own run id; it never touches the live run. Progress goes to the lifecycle
topic as RunProgress events. The command's offset is committed only after the run finished,
so a replayer that dies mid-run does it again under the same run id (idempotent upserts).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, TopicPartition

from stenograph.runtime import (
    ConsumerConfig,
    GroupConsumer,
    Record,
    Step,
    meeting_keys,
    plain_consumer,
    read_range,
    reliable_producer,
)
from stenograph.schemas import (
    AUDIO,
    COMMANDS,
    LIFECYCLE,
    SEGMENTS,
    AudioFrame,
    AudioRange,
    CodecError,
    ReplayRequested,
    RunProgress,
    RunState,
    StenographError,
    codec,
    key_of,
    samples,
)
from stenograph.transcribe.model import DecodeOptions, FasterWhisperTranscriber, ModelSegment, Transcription
from stenograph.transcribe.replay import SessionAudio, assemble, eta_s, split_sentences
from stenograph.transcribe.segments import SessionRef, to_events
from stenograph.transcribe.settings import TranscriberSettings

log = logging.getLogger(__name__)
ModelFactory = Callable[[str], FasterWhisperTranscriber]


class ReplayError(StenographError):
    """A replay that cannot run (audio gone, unknown model...)."""


@dataclass
class _Progress:
    total_s: float
    done_s: float = 0.0
    segments: int = 0
    started: float = 0.0
    last_sent: float = 0.0


class ReplayWorker:
    def __init__(self, settings: TranscriberSettings, model_factory: ModelFactory) -> None:
        self.settings = settings
        self.topics = settings.topics
        self._factory = model_factory
        self._models: dict[str, FasterWhisperTranscriber] = {}
        self._audio = codec(AUDIO)
        self._segments = codec(SEGMENTS)
        self._lifecycle = codec(LIFECYCLE)
        self._producer: AIOKafkaProducer | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("replayer not started")
        return self._producer

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        config = ConsumerConfig(
            bootstrap=self.settings.kafka_bootstrap_servers, group_id=self.settings.replay_group_id,
            stage="replayer", topics=self.topics, bases=(COMMANDS,), poll_timeout_s=0.3,
            max_records=1,  # each finished replay is committed before the next command starts
            max_poll_interval_ms=6 * 3600 * 1000,  # one replay may take long; we still heartbeat
        )
        self._producer = reliable_producer(self.settings.kafka_bootstrap_servers)
        await self._producer.start()
        try:
            await GroupConsumer(config, _Replays(self), self._producer).run(stop, on_ready)
        finally:
            await self._producer.stop()

    async def replay(self, cmd: ReplayRequested) -> None:
        progress = _Progress(total_s=0.0, started=time.monotonic())
        try:
            model = await self._model(cmd.model)
            await self._report(cmd, RunState.RUNNING, progress)
            sessions = []
            for rng in cmd.ranges:
                audio = await self._read_range(cmd, rng)
                if audio is not None:
                    sessions.append(audio)
            if not sessions:
                raise ReplayError("no stored audio in the requested ranges")
            progress.total_s = sum(s.seconds for s in sessions)
            for session in sessions:
                await self._transcribe(cmd, model, session, progress)
            progress.done_s = progress.total_s
            await self._report(cmd, RunState.COMPLETED, progress, force=True)
            log.info("replay %s of %s: %.0f s audio in %.1f s, %d segments", cmd.run_id,
                     cmd.meeting_id, progress.total_s, time.monotonic() - progress.started,
                     progress.segments)
        except Exception as exc:  # a failed run is reported, never a crashed replayer
            log.exception("replay %s failed", cmd.run_id)
            await self._report(cmd, RunState.FAILED, progress, error=f"{type(exc).__name__}: {exc}",
                               force=True)

    async def _model(self, name: str) -> FasterWhisperTranscriber:
        if name not in self._models:
            self._models[name] = await asyncio.to_thread(self._factory, name)
        return self._models[name]

    async def _read_range(self, cmd: ReplayRequested, rng: AudioRange) -> SessionAudio | None:
        """The session's frames between the range's offsets, read as fast as the broker serves."""
        bootstrap = self.settings.kafka_bootstrap_servers
        tp = TopicPartition(rng.topic, rng.partition)
        async with plain_consumer(bootstrap) as consumer:
            earliest = (await consumer.beginning_offsets([tp]))[tp]
        if earliest > rng.first_offset:
            raise ReplayError(f"audio past retention: offsets from {earliest}, "
                              f"the session starts at {rng.first_offset}")
        frames: list[AudioFrame] = []
        keys = await meeting_keys(bootstrap, self.topics.keys, self.settings.master_key, cmd.meeting_id)
        async for records in read_range(bootstrap, tp, rng.first_offset, rng.last_offset,
                                        max_partition_fetch_bytes=8 * 1024 * 1024,
                                        fetch_max_bytes=32 * 1024 * 1024):
            for r in records:
                try:
                    frame = self._audio.decode(r.value)
                except CodecError:
                    continue  # the live transcriber parked it in the DLQ already
                if frame.meeting_id == cmd.meeting_id and frame.session_id == rng.session_id:
                    opened = await keys.open(frame)
                    if opened is not None:  # its key destroyed: the meeting was erased
                        frames.append(opened)
        return assemble(frames)

    async def _transcribe(
        self, cmd: ReplayRequested, model: FasterWhisperTranscriber, session: SessionAudio,
        progress: _Progress,
    ) -> None:
        options = DecodeOptions(language=cmd.language, task=cmd.task,
                                beam_size=self.settings.beam_size)
        audio = samples(session.pcm)
        ref = SessionRef(cmd.tenant_id, cmd.meeting_id, session.session_id,
                         session.session_started_at_ns)
        base_done = progress.done_s
        iterator, language = await asyncio.to_thread(
            model.stream, audio, options, self.settings.replay_batch_size
        )
        index = 0
        while True:
            seg = await asyncio.to_thread(_next, iterator)
            if seg is None:
                break
            parts = split_sentences(seg)
            events = to_events(ref, session, Transcription(tuple(parts), language), model=cmd.model,
                               options=options, run_id=cmd.run_id, first_index=index)
            index += len(parts)
            futures = [await self.producer.send(self.topics.segments, self._segments.encode(e),
                                                key=key_of(e)) for e in events]
            await asyncio.gather(*futures)
            progress.segments += len(events)
            progress.done_s = base_done + min(seg.end, session.seconds)
            await self._report(cmd, RunState.RUNNING, progress)
        progress.done_s = base_done + session.seconds

    async def _report(
        self, cmd: ReplayRequested, state: RunState, p: _Progress, *, error: str | None = None,
        force: bool = False,
    ) -> None:
        now = time.monotonic()
        interval = self.settings.replay_progress_interval_s
        if not force and state == RunState.RUNNING and now - p.last_sent < interval:
            return
        p.last_sent = now
        fraction = 1.0 if state == RunState.COMPLETED else (p.done_s / p.total_s if p.total_s else 0.0)
        event = RunProgress(
            tenant_id=cmd.tenant_id, meeting_id=cmd.meeting_id, run_id=cmd.run_id, state=state,
            model=cmd.model, language=cmd.language, task=cmd.task, progress=round(fraction, 4),
            eta_s=None if state != RunState.RUNNING else eta_s(now - p.started, fraction),
            audio_s=round(p.total_s, 3), segments=p.segments, error=error,
        )
        await self.producer.send_and_wait(self.topics.lifecycle, self._lifecycle.encode(event),
                                          key=key_of(event))


def _next(it: Iterator[ModelSegment]) -> ModelSegment | None:
    return next(it, None)


class _Replays(Step):
    """One command at a time; its offset is committed as soon as its replay has finished."""

    def __init__(self, worker: ReplayWorker) -> None:
        self.worker = worker

    async def submit(self, record: Record) -> bool:
        if isinstance(record.event, ReplayRequested):
            await self.worker.replay(record.event)
            return True
        return False
