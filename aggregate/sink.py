"""Redis writes of the read model (layout in schemas/redis_keys.py). Every write is an upsert."""

from __future__ import annotations

import json
from typing import Any, cast

from redis.asyncio import Redis

from aggregate.reducer import health_entry, segment_record, should_store_segment, status_fields
from schemas.events import AudioHealth, BotState, BotStatusChanged, Event, SegmentEvent
from schemas.redis_keys import RedisKeys


class RedisSink:
    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def touch_meeting(self, event: Event) -> None:
        """Make the meeting known to its tenant, whichever of its events arrives first."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(k.meetings(event.tenant_id), {event.meeting_id: event.event_time_ns / 1e9}, nx=True)
        pipe.hsetnx(k.meeting(event.tenant_id, event.meeting_id), "created_ns", event.event_time_ns)
        pipe.hsetnx(k.meeting(event.tenant_id, event.meeting_id), "status", "requested")
        await pipe.execute()

    async def upsert_segment(self, event: SegmentEvent) -> bool:
        k = self.keys
        seg_key = k.segments(event.tenant_id, event.meeting_id, event.run_id)
        raw = await self.redis.hget(seg_key, event.segment_id)
        stored = json.loads(raw) if raw else None
        if not should_store_segment(stored, event):
            return False
        await self.touch_meeting(event)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(seg_key, event.segment_id, json.dumps(segment_record(event)))
        pipe.zadd(k.order(event.tenant_id, event.meeting_id, event.run_id),
                  {event.segment_id: event.start_s})
        await pipe.execute()
        return True

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
