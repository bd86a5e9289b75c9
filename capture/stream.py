"""`stenograph stream`: a media file published as one capture session."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from stenograph.capture.audio import SessionInfo, split_frames
from stenograph.capture.decode import decode_to_pcm16
from stenograph.capture.publisher import PublishResult, SessionPublisher
from stenograph.runtime import CommonSettings, reliable_producer
from stenograph.schemas import COMMANDS, BotState, ConfigChanged, MeetingRef, codec, key_of


@dataclass(frozen=True)
class StreamOutcome:
    meeting_id: str
    session_id: str
    result: PublishResult


async def stream_file(
    path: Path, ref: MeetingRef, settings: CommonSettings, *, realtime: bool = False,
    frame_ms: int = 100, language: str | None = None, task: str | None = None,
) -> StreamOutcome:
    pcm = decode_to_pcm16(path)  # raises MediaError before anything is published
    session = SessionInfo(
        tenant_id=settings.tenant, meeting_id=uuid.uuid4().hex, session_id=uuid.uuid4().hex,
        started_at_ns=time.time_ns(), source="file",
    )
    producer = reliable_producer(settings.kafka_bootstrap_servers)
    try:
        await producer.start()  # inside: a broker that is not there still gets its client closed
        if language is not None or task is not None:  # before the first frame: from the start on
            config = ConfigChanged(tenant_id=session.tenant_id, meeting_id=session.meeting_id,
                                   language=language, task=task,
                                   event_time_ns=session.started_at_ns)  # for the whole session
            await producer.send_and_wait(settings.topics.commands, codec(COMMANDS).encode(config),
                                         key=key_of(config))
        publisher = SessionPublisher(producer, settings.topics, session, ref, settings.master_key)
        await publisher.status(BotState.ACTIVE, "stream_started")
        result = await publisher.frames(split_frames(pcm, session, frame_ms), realtime=realtime)
        await publisher.status(BotState.COMPLETED, "end_of_stream")
    finally:
        await producer.stop()
    return StreamOutcome(session.meeting_id, session.session_id, result)
