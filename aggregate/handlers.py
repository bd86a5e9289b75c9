"""What the aggregator does with each message, apart from Faust: decode -> reduce -> sink -> emit."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol

from stenograph.aggregate.sink import RedisSink
from stenograph.aggregate.speakers import attribute, intervals
from stenograph.aggregate.state import AggregatorState
from stenograph.aggregate.tenants import TenantSink
from stenograph.readmodel import segment_record, transcript_segment, transcript_segments
from stenograph.runtime import log_context, meeting_partition, metrics
from stenograph.schemas import (
    COMMANDS,
    KEYS,
    LIFECYCLE,
    LIVE_RUN,
    SEGMENTS,
    SETTLED_RUN,
    TENANTS,
    TRANSCRIPT_CHANGES,
    TRANSCRIPTS,
    AudioHealth,
    AudioSessionIndexed,
    BotState,
    BotStatusChanged,
    CodecError,
    DataKeyIssued,
    DefaultRunSelected,
    JoinRequested,
    MeetingDataUpdated,
    MeetingErased,
    MeetingShredded,
    ReplayRequested,
    RunProgress,
    RunState,
    SegmentChanged,
    SegmentEvent,
    SpeakerActivity,
    TranscriptCompleted,
    TranscriptUpdated,
    codec,
    data_key_record,
    key_of,
)

log = logging.getLogger(__name__)

DeadLetter = Callable[[str, bytes | None, bytes | None, CodecError], Awaitable[None]]

KeySessions = Callable[[str], Awaitable[list[str]]]  # a meeting's sessions with a data key


class Publish(Protocol):
    async def __call__(self, base: str, key: bytes, value: bytes | None, partition: int | None = None,
                       /) -> None:
        """Send to the registry topic `base`, durable before returning; value None: a tombstone;
        partition None: the key's own (keys of data keys are sent to their meeting's)."""

RunKey = tuple[str, str, str]  # tenant, meeting, run


class AggregatorHandlers:
    """Decode -> reduce -> sink, then what changed goes out: one TranscriptChange per accepted
    segment revision and per completed session, once Redis holds it, and a whole-run snapshot on
    the compacted transcripts topic at a session's end and at most every `snapshot_interval_s`."""

    def __init__(self, sink: RedisSink, dead_letter: DeadLetter, publish: Publish | None,
                 snapshot_interval_s: float = 5.0, state: AggregatorState | None = None,
                 key_sessions: KeySessions | None = None) -> None:
        self.sink = sink
        self.key_sessions = key_sessions
        self.state = state or AggregatorState.in_memory()
        self.dead_letter = dead_letter
        self.publish = publish
        self.snapshot_interval_s = snapshot_interval_s
        self._transcripts = codec(TRANSCRIPTS)
        self._changes = codec(TRANSCRIPT_CHANGES)
        self.tenant_sink = TenantSink(sink.redis, sink.keys)
        self._dirty: set[RunKey] = set()  # runs changed since their last snapshot
        self._snapshot_at: dict[RunKey, float] = {}  # monotonic time of each run's last snapshot
        self._registered: set[tuple[str, str, str, str]] = set()  # runs (and settling sessions) listed

    async def on_segment(self, key: bytes | None, value: bytes | None) -> None:
        event = await self._decode(SEGMENTS, key, value)
        if event is None:
            return
        with log_context(meeting_id=event.meeting_id, tenant_id=event.tenant_id):
            await self._segment(event)

    async def _segment(self, event: SegmentEvent) -> None:
        if self.state.is_erased(event.tenant_id, event.meeting_id):
            return
        mapping = None
        if event.speaker is None:  # sources that know no speakers: the meeting UI's indicators say
            spans = intervals(self.state.indicators(event.tenant_id, event.meeting_id,
                                                    event.start_time_ns, event.end_time_ns))
            if spans:
                speaker, mapping = attribute(event.start_time_ns, event.end_time_ns, spans)
                event = replace(event, speaker=speaker)
        if event.session_end:
            if event.run_id == LIVE_RUN:  # the only run with interims
                await self._retire_left_open(event)
            if event.run_id == SETTLED_RUN:
                await self.sink.settled_session(event)
            await self._completed(event)
            return
        await self._apply(event, mapping)

    async def _apply(self, event: SegmentEvent, mapping: str | None = None) -> None:
        if not self.state.accept(event) and not await self._orphan_retired(event):
            return
        record = segment_record(event, mapping)
        new = await self.sink.write_segment(event, record)
        # a final the read model held already is a re-delivery (after a restart): not timed again
        if new and event.completed and event.text and event.run_id in (LIVE_RUN, SETTLED_RUN):
            # the capture clock stamped the audio as it was published: this is its wait for text
            waited_s = max(0.0, (time.time_ns() - event.end_time_ns) / 1e9)
            metrics.FINAL_LATENCY.labels(event.run_id).observe(waited_s)
        registered = (event.tenant_id, event.meeting_id, event.run_id,
                      event.session_id if event.run_id == SETTLED_RUN else "")
        if registered not in self._registered:  # once per run (and settling session) per process
            await self.sink.register_run(event)
            self._registered.add(registered)
        await self._changed(event, record)

    async def _retire_left_open(self, end: SegmentEvent) -> None:
        """A session's end comes after every segment of that session in its run, so an interim of
        it the read model still shows open lost its retirement on the way (after a kill -9, Faust
        handed a restarted worker the interim again and skipped the records after it, see
        watchdog.GapDetector): it is retired here, as the transcriber's retirement would have,
        one read of the run per session end."""
        for record in await self.sink.run_segments(end.tenant_id, end.meeting_id, end.run_id):
            if record.get("session_id") != end.session_id or record.get("completed", True):
                continue
            log.warning("aggregator: %s/%s: session %s ended with interim %s open: retired",
                        end.tenant_id, end.meeting_id, end.session_id, record["segment_id"])
            await self._apply(replace(
                end, event_id=f"{end.event_id}:{record['segment_id']}:retired", session_end=False,
                segment_id=record["segment_id"], revision=int(record["revision"]) + 1, completed=True,
                text="", words=(), speaker=None, settles_until_s=None,
                start_s=record["start"], end_s=record["start"],
                start_time_ns=record["absolute_start_time_ns"], end_time_ns=record["absolute_start_time_ns"],
                seq_first=record["seq_first"], seq_last=record["seq_last"],
            ))

    async def _orphan_retired(self, event: SegmentEvent) -> bool:
        """A retirement the table turned down (it holds no open revision of that interim), while
        Redis still shows the interim open.

        Seen after a kill -9: the restarted worker's table lacked an interim whose changelog
        record was on its topic (Faust's recovery missed it), so the retirement was dropped and
        the interim stayed open for good. The read model is asked for every such retirement (one
        read for each chunk that had no interim here), never for a revision with text: those
        decide from the table alone."""
        if not event.retires:
            return False
        stored = await self.sink.stored(event)
        if stored is None or stored.get("completed", False):
            return False
        log.warning("aggregator: %s/%s: retiring interim %s that its table did not hold",
                    event.tenant_id, event.meeting_id, event.segment_id)
        return True

    async def on_lifecycle(self, key: bytes | None, value: bytes | None) -> None:
        event = await self._decode(LIFECYCLE, key, value)
        if event is None:
            return
        with log_context(meeting_id=event.meeting_id, tenant_id=event.tenant_id):
            await self._lifecycle(event)

    async def _lifecycle(self, event: Any) -> None:
        if self.state.is_erased(event.tenant_id, event.meeting_id):
            if isinstance(event, AudioSessionIndexed):  # a session that began as it was erased
                await self._shred(event.tenant_id, event.meeting_id, [event.session_id])
            return
        if isinstance(event, BotStatusChanged):
            await self.sink.apply_status(event)
        elif isinstance(event, AudioHealth):
            await self.sink.apply_health(event)
        elif isinstance(event, AudioSessionIndexed):
            await self.sink.apply_audio_index(event)
        elif isinstance(event, RunProgress):
            await self.sink.apply_run(event)
            if event.state == RunState.COMPLETED:  # a replay is done: its whole transcript goes out
                await self._snapshot((event.tenant_id, event.meeting_id, event.run_id))
        elif isinstance(event, SpeakerActivity):
            self.state.add_speaking(event)
            await self.sink.touch_meeting(event)
        else:
            await self.sink.touch_meeting(event)

    async def on_command(self, key: bytes | None, value: bytes | None) -> None:
        """A join request makes the meeting known (status requested) before any bot reports."""
        event = await self._decode(COMMANDS, key, value)
        if event is None:
            return
        with log_context(meeting_id=event.meeting_id, tenant_id=event.tenant_id):
            await self._command(event)

    async def _command(self, event: Any) -> None:
        if isinstance(event, MeetingErased):
            self.state.erase(event.tenant_id, event.meeting_id)
            # every session with a key on the keys topic (a capture that died before its first
            # frame was indexed has one too), and every session the read model indexed
            sessions = set(await self.sink.audio_sessions(event.tenant_id, event.meeting_id))
            if self.key_sessions is not None and self.publish is not None:
                sessions |= set(await self.key_sessions(event.meeting_id))
            await self._shred(event.tenant_id, event.meeting_id, sorted(sessions), marker=True)
            await self.sink.erase(event)
            self._registered = {r for r in self._registered if r[:2] != (event.tenant_id, event.meeting_id)}
            self._dirty = {k for k in self._dirty if k[:2] != (event.tenant_id, event.meeting_id)}
            if self.publish is not None:  # the compacted transcripts topic forgets it too
                await self.publish(TRANSCRIPTS, event.meeting_id.encode(), None)
            return
        if self.state.is_erased(event.tenant_id, event.meeting_id):
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

    async def on_key(self, key: bytes | None, value: bytes | None) -> None:
        """A data key issued for a meeting already erased (a capture session still running, a
        race with the erasure) is destroyed at once."""
        if value is None:
            return  # a tombstone: a key destroyed
        event = await self._decode(KEYS, key, value)
        if isinstance(event, DataKeyIssued) and self.state.is_erased(event.tenant_id, event.meeting_id):
            await self._shred(event.tenant_id, event.meeting_id, [event.session_id])

    async def _shred(self, tenant_id: str, meeting_id: str, sessions: list[str], *,
                     marker: bool = False) -> None:
        """Crypto-shredding: the erasure's record (kept forever on the compacted keys topic), then
        a tombstone for each session's data key, so that the compactor removes the keys and the
        sessions' audio can never be opened again."""
        if self.publish is None:
            return  # a rebuild: the keys were destroyed when the erasure was first applied
        partition = meeting_partition(meeting_id)
        if marker:
            shredded = MeetingShredded(tenant_id=tenant_id, meeting_id=meeting_id)
            await self.publish(KEYS, key_of(shredded), codec(KEYS).encode(shredded), partition)
        for session in sessions:
            await self.publish(KEYS, data_key_record(meeting_id, session), None, partition)
            log.info("data key of session %s destroyed (meeting erased)", session)

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

    async def _changed(self, event: SegmentEvent, stored: dict[str, Any]) -> None:
        """An accepted revision: its delta now, the run's snapshot when one is due."""
        if self.publish is None:
            return
        change = SegmentChanged(
            tenant_id=event.tenant_id, meeting_id=event.meeting_id, event_id=f"{event.event_id}:changed",
            event_time_ns=event.event_time_ns, run_id=event.run_id, session_id=event.session_id,
            revision=event.revision, segment=transcript_segment(stored),
        )
        await self.publish(TRANSCRIPT_CHANGES, event.meeting_id.encode(), self._changes.encode(change))
        self._dirty.add((event.tenant_id, event.meeting_id, event.run_id))

    async def _completed(self, event: SegmentEvent) -> None:
        """A session's run is complete: its snapshot, then the completion, both after Redis."""
        if self.publish is None:
            return
        key = (event.tenant_id, event.meeting_id, event.run_id)
        await self._snapshot(key)
        info = await self.sink.meeting_info(event.tenant_id, event.meeting_id)
        done = TranscriptCompleted(
            tenant_id=event.tenant_id, meeting_id=event.meeting_id, event_id=f"{event.event_id}:completed",
            event_time_ns=event.event_time_ns, run_id=event.run_id, session_id=event.session_id,
            platform=info.get("platform"), native_meeting_id=info.get("native_meeting_id"),
        )
        await self.publish(TRANSCRIPT_CHANGES, event.meeting_id.encode(), self._changes.encode(done))

    async def flush_snapshots(self, now: float | None = None) -> int:
        """Snapshots of the runs changed since theirs, where the last is `snapshot_interval_s` old.
        The caller keeps events out meanwhile (an erasure cannot slip between read and publish)."""
        now = time.monotonic() if now is None else now
        last = self._snapshot_at
        due = [k for k in self._dirty if now - last.get(k, float("-inf")) >= self.snapshot_interval_s]
        for key in due:
            await self._snapshot(key, now)
        return len(due)

    async def _snapshot(self, key: RunKey, now: float | None = None) -> None:
        if self.publish is None:
            return
        tenant, meeting_id, run_id = key
        if not self.state.is_erased(tenant, meeting_id):
            stored = await self.sink.run_segments(tenant, meeting_id, run_id)
            info = await self.sink.meeting_info(tenant, meeting_id)
            update = TranscriptUpdated(
                tenant_id=tenant, meeting_id=meeting_id, run_id=run_id,
                segments=transcript_segments(stored), platform=info.get("platform"),
                native_meeting_id=info.get("native_meeting_id"),
            )
            await self.publish(TRANSCRIPTS, meeting_id.encode(), self._transcripts.encode(update))
        # only once it is out: a snapshot that failed is still due
        self._dirty.discard(key)
        self._snapshot_at[key] = time.monotonic() if now is None else now
