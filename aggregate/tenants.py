"""Tenants and API keys into Redis (layout in schemas/redis_keys.py)."""

from __future__ import annotations

from redis.asyncio import Redis

from stenograph.readmodel import RedisKeys
from stenograph.schemas import ApiKeyIssued, ApiKeyRevoked, Event, TenantUpserted

DEFAULT_MAX_CONCURRENT_BOTS = 5


def tenant_changes(stored_updated_ns: int | None, event: TenantUpserted) -> dict[str, str]:
    """Pure: the fields an upsert sets; an older event than what is stored sets none."""
    if stored_updated_ns is not None and event.event_time_ns < stored_updated_ns:
        return {}
    fields = {name: str(value) for name in ("name", "email", "max_concurrent_bots", "webhook_url",
                                            "webhook_secret")
              if (value := getattr(event, name)) is not None}
    return {**fields, "updated_ns": str(event.event_time_ns)}


class TenantSink:
    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def apply(self, event: Event) -> None:
        await self._ensure_tenant(event)
        if isinstance(event, TenantUpserted):
            key = self.keys.tenant(event.tenant_id)
            stored = await self.redis.hget(key, "updated_ns")
            changes = tenant_changes(int(stored) if stored else None, event)
            if changes:
                await self.redis.hset(key, mapping=changes)  # type: ignore[arg-type]
        elif isinstance(event, ApiKeyIssued):
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(self.keys.api_key(event.key_id), mapping={
                "tenant_id": event.tenant_id, "key_hash": event.key_hash, "label": event.label,
                "created_ns": str(event.event_time_ns)})
            pipe.sadd(self.keys.tenant_keys(event.tenant_id), event.key_id)
            await pipe.execute()
        elif isinstance(event, ApiKeyRevoked):
            # kept, marked: a re-read issue event cannot bring the key back
            await self.redis.hset(self.keys.api_key(event.key_id), "revoked_ns",
                                  str(event.event_time_ns))

    async def _ensure_tenant(self, event: Event) -> None:
        key = self.keys.tenant(event.tenant_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.sadd(self.keys.tenants(), event.tenant_id)
        pipe.hsetnx(key, "created_ns", str(event.event_time_ns))
        pipe.hsetnx(key, "name", event.tenant_id)
        pipe.hsetnx(key, "max_concurrent_bots", str(DEFAULT_MAX_CONCURRENT_BOTS))
        await pipe.execute()
