"""Publishes one capture session: lifecycle start, sequenced frames, its audio index, lifecycle end.

Every frame's payload is sealed under a data key of the session's own, published (wrapped by the
master key) on the compacted keys topic before the first frame, so that erasing the meeting can
destroy it (schemas/sealing.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from stenograph.capture.audio import SessionInfo
from stenograph.runtime import meeting_partition
from stenograph.schemas import (
    AUDIO,
    KEYS,
    LIFECYCLE,
    AudioFrame,
    AudioSessionIndexed,
    BotState,
    BotStatusChanged,
    DataKeyIssued,
    Event,
    MeetingRef,
    TopicNames,
    codec,
    frame_aad,
    key_of,
    new_key,
    seal,
    wrap_data_key,
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
        self, producer: AIOKafkaProducer, topics: TopicNames, session: SessionInfo, ref: MeetingRef,
        master_key: bytes,
    ) -> None:
        self._producer = producer
        self._master_key = master_key
        self._data_key: bytes | None = None  # made and published before the first frame
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

    async def _issue_key(self) -> bytes:
        """The session's data key, durable on the keys topic before any frame sealed with it."""
        s, key = self._session, new_key()
        issued = DataKeyIssued(tenant_id=s.tenant_id, meeting_id=s.meeting_id, session_id=s.session_id,
                               wrapped_key=wrap_data_key(self._master_key, key, s.meeting_id, s.session_id))
        await self._producer.send_and_wait(self._topics.keys, codec(KEYS).encode(issued),
                                           key=key_of(issued), partition=meeting_partition(s.meeting_id))
        return key

    async def push(self, frame: AudioFrame) -> None:
        """Send one frame, sealed; `flush` waits for what was sent."""
        if self._data_key is None:
            self._data_key = await self._issue_key()
        sealed = replace(frame, sealed=True, payload=seal(
            self._data_key, frame.payload, frame_aad(frame.meeting_id, frame.session_id, frame.seq)))
        self._pending.append(await self._producer.send(
            self._topics.audio, self._audio.encode(sealed), key=key_of(frame)
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
