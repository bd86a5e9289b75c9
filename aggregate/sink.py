"""Redis writes of the read model (layout in schemas/redis_keys.py). Every write is an upsert."""

from __future__ import annotations

import json
from typing import Any, cast

from redis.asyncio import Redis

from stenograph.readmodel import (
    RedisKeys,
    audio_index_entry,
    health_entry,
    run_entry,
    segment_words,
    status_fields,
)
from stenograph.schemas import (
    LIVE_RUN,
    SETTLED_RUN,
    AudioHealth,
    AudioSessionIndexed,
    BotState,
    BotStatusChanged,
    DefaultRunSelected,
    Event,
    MeetingDataUpdated,
    MeetingErased,
    RunProgress,
    RunState,
    SegmentEvent,
)


class RedisSink:
    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def touch_meeting(self, event: Event) -> None:
        """Make the meeting known to its tenant, whichever of its events arrives first."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=True)
        # earliest event time in µs, whatever order the events are read in
        pipe.zadd(k.meetings(event.tenant_id), {event.meeting_id: event.event_time_ns // 1000}, lt=True)
        pipe.hsetnx(k.meeting(event.tenant_id, event.meeting_id), "status", "requested")
        await pipe.execute()

    async def write_segment(self, event: SegmentEvent, record: dict[str, Any]) -> bool:
        """An accepted revision (the state decided it), in one transaction, with no read; True
        if the read model did not hold the segment before."""
        k = self.keys
        tenant, mid, run = event.tenant_id, event.meeting_id, event.run_id
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(k.meetings(tenant), {mid: event.event_time_ns // 1000}, lt=True)
        pipe.hsetnx(k.meeting(tenant, mid), "status", "requested")
        pipe.hset(k.segments(tenant, mid, run), event.segment_id, json.dumps(record))  # 1: a new field
        if event.words:
            pipe.hset(k.words(tenant, mid, run), event.segment_id, json.dumps(segment_words(event)))
        else:  # no word of an earlier revision outlives it
            pipe.hdel(k.words(tenant, mid, run), event.segment_id)
        pipe.zadd(k.order(tenant, mid, run), {event.segment_id: event.start_s})
        if event.settles_until_s is not None:  # only ever forward: a max merge, order-insensitive
            pipe.zadd(k.settled(tenant, mid), {event.session_id: event.settles_until_s}, gt=True)
        return bool((await pipe.execute())[2])

    async def stored(self, event: SegmentEvent) -> dict[str, Any] | None:
        """The read model's record of the event's segment, if it has one."""
        raw = await self.redis.hget(self.keys.segments(event.tenant_id, event.meeting_id, event.run_id),
                                    event.segment_id)
        return None if raw is None else cast(dict[str, Any], json.loads(raw))

    async def register_run(self, event: SegmentEvent) -> None:
        """The run's listing entry, from its segments (live: registered; settled: running)."""
        if event.run_id == SETTLED_RUN:
            await self.apply_run(settled_progress(event, RunState.RUNNING))
        elif event.run_id == LIVE_RUN:
            await self.apply_run(RunProgress(
                tenant_id=event.tenant_id, meeting_id=event.meeting_id, event_id=event.event_id,
                event_time_ns=event.event_time_ns, run_id=LIVE_RUN, state="live", model=event.model,
                language=event.settings.get("language") or None,
                task=event.settings.get("task", "transcribe"),
            ))

    async def settled_session(self, event: SegmentEvent) -> None:
        """The settling pass finished a session: the settled run is complete (until another
        session of the meeting starts settling)."""
        await self.apply_run(settled_progress(event, RunState.COMPLETED))

    async def run_segments(self, tenant: str, meeting_id: str, run_id: str) -> list[dict[str, Any]]:
        raw = await self.redis.hvals(self.keys.segments(tenant, meeting_id, run_id))
        return [json.loads(r) for r in raw]

    async def apply_status(self, event: BotStatusChanged) -> bool:
        await self.touch_meeting(event)
        key = self.keys.meeting(event.tenant_id, event.meeting_id)
        updated = await self.redis.hget(key, "status_updated_ns")
        fields = status_fields(int(updated) if updated else None, event)
        if fields is None:
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping=dict(fields))  # type: ignore[arg-type]
        pipe.set(
            self.keys.native(event.tenant_id, event.platform, event.native_meeting_id),
            event.meeting_id,
        )
        if event.state == BotState.ACTIVE:
            pipe.hsetnx(key, "start_ns", event.event_time_ns)
        await pipe.execute()
        return True

    async def apply_health(self, event: AudioHealth) -> None:
        await self.touch_meeting(event)
        key = self.keys.health(event.tenant_id, event.meeting_id)
        raw = await self.redis.hget(key, str(event.kind))
        entry = health_entry(json.loads(raw) if raw else None, event)
        await self.redis.hset(key, str(event.kind), json.dumps(entry))

    async def meeting_info(self, tenant: str, meeting_id: str) -> dict[str, str]:
        data = await self.redis.hgetall(self.keys.meeting(tenant, meeting_id))
        return cast(dict[str, str], data)

    async def apply_audio_index(self, event: AudioSessionIndexed) -> None:
        await self.touch_meeting(event)
        key = self.keys.audio(event.tenant_id, event.meeting_id)
        raw = await self.redis.hget(key, event.session_id)
        entry = audio_index_entry(json.loads(raw) if raw else None, event)
        await self.redis.hset(key, event.session_id, json.dumps(entry))

    async def apply_run(self, event: RunProgress) -> None:
        key = self.keys.runs(event.tenant_id, event.meeting_id)
        raw = await self.redis.hget(key, event.run_id)
        entry = run_entry(json.loads(raw) if raw else None, event)
        if entry is not None:
            await self.redis.hset(key, event.run_id, json.dumps(entry))

    async def apply_default_run(self, event: DefaultRunSelected) -> None:
        key = self.keys.meeting(event.tenant_id, event.meeting_id)
        current = await self.redis.hget(key, "default_run_ns")
        if current is None or int(current) <= event.event_time_ns:
            await self.redis.hset(key, mapping={"default_run": event.run_id,
                                                "default_run_ns": str(event.event_time_ns)})

    async def apply_data(self, event: MeetingDataUpdated) -> None:
        """User data of a meeting: the keys given replace the stored ones (commands arrive in order)."""
        await self.touch_meeting(event)
        key = self.keys.meeting(event.tenant_id, event.meeting_id)
        raw = await self.redis.hget(key, "data")
        data = {**(json.loads(raw) if raw else {}), **json.loads(event.data_json)}
        await self.redis.hset(key, "data", json.dumps(data))

    async def audio_sessions(self, tenant_id: str, meeting_id: str) -> list[str]:
        """The capture sessions whose audio the read model has indexed."""
        return sorted(str(s) for s in await self.redis.hkeys(self.keys.audio(tenant_id, meeting_id)))

    async def erase(self, event: MeetingErased) -> None:
        """Everything of the meeting goes; the erased mark keeps it gone through re-reads."""
        k, tenant, mid = self.keys, event.tenant_id, event.meeting_id
        await self.redis.sadd(k.erased(tenant), mid)
        doomed = [k.meeting(tenant, mid), k.health(tenant, mid), k.audio(tenant, mid), k.runs(tenant, mid),
                  k.speakers(tenant, mid), k.settled(tenant, mid)]
        for pattern in (k.segments(tenant, mid, "*"), k.order(tenant, mid, "*"), k.words(tenant, mid, "*")):
            doomed += [str(name) async for name in self.redis.scan_iter(match=pattern, count=500)]
        native = k.native(tenant, event.platform, event.native_meeting_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(*doomed)
        pipe.zrem(k.meetings(tenant), mid)
        if await self.redis.get(native) == mid:
            pipe.delete(native)
        await pipe.execute()


def settled_progress(event: SegmentEvent, state: RunState) -> RunProgress:
    """The settled run's listing entry, from its own segments."""
    return RunProgress(
        tenant_id=event.tenant_id, meeting_id=event.meeting_id, event_id=f"{event.event_id}:run",
        event_time_ns=event.event_time_ns, run_id=SETTLED_RUN, state=state, model=event.model,
        language=event.settings.get("language") or None,
        task=event.settings.get("task", "transcribe"), progress=1.0 if state == RunState.COMPLETED else 0.0,
    )
