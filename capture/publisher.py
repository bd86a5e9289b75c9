"""Publishes one capture session: lifecycle start, sequenced frames, its audio index, lifecycle end."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from stenograph.capture.audio import SessionInfo
from stenograph.schemas import (
    AUDIO,
    LIFECYCLE,
    AudioFrame,
    AudioSessionIndexed,
    BotState,
    BotStatusChanged,
    Event,
    MeetingRef,
    TopicNames,
    codec,
    key_of,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishResult:
    frames: int
    audio_seconds: float
    last_frame_acked_ns: int
    partition: int | None = None
    first_offset: int | None = None
    last_offset: int | None = None


class SessionPublisher:
    def __init__(
        self, producer: AIOKafkaProducer, topics: TopicNames, session: SessionInfo, ref: MeetingRef
    ) -> None:
        self._producer = producer
        self._topics = topics
        self._session = session
        self._ref = ref
        self._audio = codec(AUDIO)
        self._lifecycle = codec(LIFECYCLE)
        self._pending: list[asyncio.Future[RecordMetadata]] = []
        self._first: RecordMetadata | None = None
        self._last: RecordMetadata | None = None
        self._count = 0
        self._seconds = 0.0

    async def lifecycle(self, event: Event) -> None:
        await self._producer.send_and_wait(
            self._topics.lifecycle, self._lifecycle.encode(event), key=key_of(event)
        )

    async def status(self, state: BotState, reason: str) -> None:
        s = self._session
        await self.lifecycle(BotStatusChanged(
            tenant_id=s.tenant_id, meeting_id=s.meeting_id, state=state, reason=reason,
            platform=self._ref.platform, native_meeting_id=self._ref.native_meeting_id,
            session_id=s.session_id,
        ))

    async def index(self, first: RecordMetadata, last: RecordMetadata | None, frames: int,
                    seconds: float) -> None:
        """Where this session's frames are, so a replay reads only that range."""
        s = self._session
        await self.lifecycle(AudioSessionIndexed(
            tenant_id=s.tenant_id, meeting_id=s.meeting_id, session_id=s.session_id,
            platform=self._ref.platform, native_meeting_id=self._ref.native_meeting_id,
            topic=self._topics.audio, partition=first.partition, first_offset=first.offset,
            last_offset=last.offset if last is not None else None, frames=frames,
            audio_s=round(seconds, 3), started_at_ns=s.started_at_ns,
        ))

    async def push(self, frame: AudioFrame) -> None:
        """Send one frame; `flush` waits for what was sent."""
        self._pending.append(await self._producer.send(
            self._topics.audio, self._audio.encode(frame), key=key_of(frame)
        ))
        self._count += 1
        self._seconds += frame.duration_s

    async def flush(self) -> None:
        """Wait for every sent frame; the audio index goes out once the first one is stored."""
        if not self._pending:
            return
        acked = await asyncio.gather(*self._pending)
        self._pending.clear()
        self._last = acked[-1]
        if self._first is None:
            self._first = acked[0]
            await self.index(self._first, None, self._count, self._seconds)

    async def finish(self) -> PublishResult:
        """All frames acknowledged and the session's final audio index published."""
        await self.flush()
        done_ns = time.time_ns()
        first, last = self._first, self._last
        if first is not None:
            await self.index(first, last, self._count, self._seconds)
        return PublishResult(self._count, self._seconds, done_ns,
                             first.partition if first else None,
                             first.offset if first else None, last.offset if last else None)

    async def frames(
        self, frames: Iterable[AudioFrame], *, realtime: bool = False, window: int = 500
    ) -> PublishResult:
        """Send frames in order; `realtime` paces them at wall-clock speed.

        At most `window` sends are in flight; all are acknowledged before returning.
        """
        t0 = time.monotonic()
        for frame in frames:
            if realtime:
                delay = t0 + self._seconds - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self.push(frame)
            if len(self._pending) >= window or realtime:
                await self.flush()
        return await self.finish()
