"""Publishes one capture session: lifecycle start, sequenced frames, lifecycle end."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from capture.audio import SessionInfo
from schemas.codec import codec, key_of
from schemas.events import AudioFrame, BotState, BotStatusChanged
from schemas.topics import AUDIO, LIFECYCLE, TopicNames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishResult:
    frames: int
    audio_seconds: float
    last_frame_acked_ns: int


class SessionPublisher:
    def __init__(self, producer: AIOKafkaProducer, topics: TopicNames) -> None:
        self._producer = producer
        self._topics = topics
        self._audio = codec(AUDIO)
        self._lifecycle = codec(LIFECYCLE)

    async def status(
        self, session: SessionInfo, state: BotState, reason: str, platform: str, native_id: str
    ) -> None:
        event = BotStatusChanged(
            tenant_id=session.tenant_id, meeting_id=session.meeting_id, state=state,
            reason=reason, platform=platform, native_meeting_id=native_id,
            session_id=session.session_id,
        )
        await self._producer.send_and_wait(
            self._topics.lifecycle, self._lifecycle.encode(event), key=key_of(event)
        )

    async def frames(
        self, frames: Iterable[AudioFrame], *, realtime: bool = False, window: int = 500
    ) -> PublishResult:
        """Send frames in order; `realtime` paces them at wall-clock speed.

        At most `window` sends are in flight; all are acknowledged before returning.
        """
        pending: list[asyncio.Future[object]] = []
        count, seconds = 0, 0.0
        t0 = time.monotonic()
        for frame in frames:
            if realtime:
                delay = t0 + seconds - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            fut = await self._producer.send(
                self._topics.audio, self._audio.encode(frame), key=key_of(frame)
            )
            pending.append(fut)
            count += 1
            seconds += frame.duration_s
            if len(pending) >= window or realtime:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return PublishResult(count, seconds, time.time_ns())
