"""What the aggregator does with each message, apart from Faust: decode -> reduce -> sink -> emit."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from stenograph.aggregate.sink import RedisSink
from stenograph.aggregate.speakers import attribute, intervals
from stenograph.aggregate.tenants import TenantSink
from stenograph.readmodel.reducer import transcript_segments
from stenograph.schemas.codec import codec
from stenograph.schemas.errors import CodecError
from stenograph.schemas.events import (
    SETTLED_RUN,
    AudioHealth,
    AudioSessionIndexed,
    BotState,
    BotStatusChanged,
    DefaultRunSelected,
    JoinRequested,
    MeetingDataUpdated,
    MeetingErased,
    ReplayRequested,
    RunProgress,
    RunState,
    SegmentEvent,
    SpeakerActivity,
    TranscriptUpdated,
)
from stenograph.schemas.topics import COMMANDS, LIFECYCLE, SEGMENTS, TENANTS, TRANSCRIPTS

log = logging.getLogger(__name__)

DeadLetter = Callable[[str, bytes | None, bytes | None, CodecError], Awaitable[None]]
Publish = Callable[[bytes, bytes | None], Awaitable[None]]  # None: a tombstone


class AggregatorHandlers:
    def __init__(self, sink: RedisSink, dead_letter: DeadLetter, publish: Publish | None) -> None:
        self.sink = sink
        self.dead_letter = dead_letter
        self.publish = publish
        self._transcripts = codec(TRANSCRIPTS)
        self.tenant_sink = TenantSink(sink.redis, sink.keys)

    async def on_segment(self, key: bytes | None, value: bytes | None) -> None:
        event = await self._decode(SEGMENTS, key, value)
        if event is None:
            return
        if await self.sink.is_erased(event.tenant_id, event.meeting_id):
            return
        mapping = None
        if event.speaker is None:  # sources that know no speakers: the meeting UI's indicators say
            spans = intervals(await self.sink.speaking(event.tenant_id, event.meeting_id))
            if spans:
                speaker, mapping = attribute(event.start_time_ns, event.end_time_ns, spans)
                event = replace(event, speaker=speaker)
        if event.run_id == SETTLED_RUN and event.segment_id == f"{event.session_id}-end":
            await self.sink.settled_session(event)
            if self.publish is not None:  # live subscribers learn the settled text is complete
                await self._publish_transcript(event)
            return
        if await self.sink.upsert_segment(event, mapping) and self.publish is not None:
            await self._publish_transcript(event)

    async def on_lifecycle(self, key: bytes | None, value: bytes | None) -> None:
        event = await self._decode(LIFECYCLE, key, value)
        if event is None:
            return
        if await self.sink.is_erased(event.tenant_id, event.meeting_id):
            return
        if isinstance(event, BotStatusChanged):
            await self.sink.apply_status(event)
        elif isinstance(event, AudioHealth):
            await self.sink.apply_health(event)
        elif isinstance(event, AudioSessionIndexed):
            await self.sink.apply_audio_index(event)
        elif isinstance(event, RunProgress):
            await self.sink.apply_run(event)
        elif isinstance(event, SpeakerActivity):
            await self.sink.add_speaking(event)
        else:
            await self.sink.touch_meeting(event)

    async def on_command(self, key: bytes | None, value: bytes | None) -> None:
        """A join request makes the meeting known (status requested) before any bot reports."""
        event = await self._decode(COMMANDS, key, value)
        if event is None:
            return
        if isinstance(event, MeetingErased):
            await self.sink.erase(event)
            if self.publish is not None:  # the compacted transcripts topic forgets it too
                await self.publish(event.meeting_id.encode(), None)
            return
        if await self.sink.is_erased(event.tenant_id, event.meeting_id):
            return
        if isinstance(event, JoinRequested):
            await self.sink.apply_status(BotStatusChanged(
                tenant_id=event.tenant_id, meeting_id=event.meeting_id, event_id=event.event_id,
                event_time_ns=event.event_time_ns, state=BotState.REQUESTED, reason="join_requested",
                platform=event.platform, native_meeting_id=event.native_meeting_id,
            ))
        elif isinstance(event, ReplayRequested):
            await self.sink.apply_run(RunProgress(
                tenant_id=event.tenant_id, meeting_id=event.meeting_id, event_id=event.event_id,
                event_time_ns=event.event_time_ns, run_id=event.run_id, state=RunState.REQUESTED,
                model=event.model, language=event.language, task=event.task,
            ))
        elif isinstance(event, DefaultRunSelected):
            await self.sink.apply_default_run(event)
        elif isinstance(event, MeetingDataUpdated):
            await self.sink.apply_data(event)

    async def on_tenant(self, key: bytes | None, value: bytes | None) -> None:
        event = await self._decode(TENANTS, key, value)
        if event is None:
            return
        await self.tenant_sink.apply(event)

    async def _decode(self, base: str, key: bytes | None, value: bytes | None) -> Any:
        """The event, or None once a message that cannot be decoded is parked in its DLQ."""
        try:
            return codec(base).decode(value)
        except CodecError as exc:
            await self.dead_letter(base, key, value, exc)
            return None

    async def _publish_transcript(self, event: SegmentEvent) -> None:
        assert self.publish is not None
        stored = await self.sink.run_segments(event.tenant_id, event.meeting_id, event.run_id)
        info = await self.sink.meeting_info(event.tenant_id, event.meeting_id)
        update = TranscriptUpdated(
            tenant_id=event.tenant_id, meeting_id=event.meeting_id, run_id=event.run_id,
            segments=transcript_segments(stored), platform=info.get("platform"),
            native_meeting_id=info.get("native_meeting_id"),
        )
        await self.publish(event.meeting_id.encode(), self._transcripts.encode(update))
