"""`stenograph rebuild`: the whole Redis read model restored from Kafka.

Clears every key under the read model's prefix, then reads the tenants, commands, lifecycle
and segments topics from their beginnings to their current ends through the same handlers the
aggregator runs. The reducers are order-insensitive, so the result equals what the live
aggregator built. TranscriptUpdated is not re-published (the compacted topic has it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from stenograph.aggregate.handlers import AggregatorHandlers
from stenograph.aggregate.sink import RedisSink
from stenograph.aggregate.state import ERASED_TABLE, AggregatorState
from stenograph.runtime import CommonSettings, TopicReader
from stenograph.schemas import (
    COMMANDS,
    KEYS,
    LIFECYCLE,
    SEGMENTS,
    TENANTS,
    CodecError,
    MeetingShredded,
    codec,
)

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]


async def clear_read_model(redis: Redis, pattern: str, keep: str) -> int:
    """Delete every key matching `pattern` but `keep` (the epoch marker: a rebuild under way is
    not a read model that lost its data)."""
    deleted = 0
    async for key in redis.scan_iter(match=pattern, count=1000):
        if key != keep:
            deleted += await redis.delete(key)
    return deleted


async def _replay_topic(
    bootstrap: str, topic: str, handle: Callable[[bytes | None, bytes | None], Awaitable[None]],
    progress: Progress,
) -> int:
    count = 0
    async with TopicReader(bootstrap, [topic], start="beginning") as reader:
        async for records in reader.to_end():
            for r in records:
                await handle(r.key, r.value)
            count += len(records)
            progress(topic, count)
    return count


async def rebuild_read_model(settings: CommonSettings,
                             progress: Progress = lambda t, n: None) -> dict[str, int]:
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        keys = settings.redis_keys
        cleared = await clear_read_model(redis, keys.everything(), keep=keys.epoch())

        async def ignore_poison(base: str, key: bytes | None, value: bytes | None, exc: CodecError) -> None:
            """Already parked by the live aggregator."""

        # erasures first: they outlive the commands topic's retention on the keys topic and in
        # the aggregator's own erased table
        state = AggregatorState.in_memory()
        for meeting in await erased_meetings(settings):
            state.erased[meeting] = True
        # publish=None: the compacted transcripts topic already holds every TranscriptUpdated
        handlers = AggregatorHandlers(RedisSink(redis, settings.redis_keys), ignore_poison, None,
                                      state=state)
        counts = {"cleared_keys": cleared, "erased": len(state.erased)}
        topics = settings.topics
        for base, handle in ((TENANTS, handlers.on_tenant), (COMMANDS, handlers.on_command),
                             (LIFECYCLE, handlers.on_lifecycle), (SEGMENTS, handlers.on_segment)):
            counts[base] = await _replay_topic(settings.kafka_bootstrap_servers, topics.name(base),
                                               handle, progress)
        await redis.set(keys.epoch(), str(time.time_ns()))  # whole again
        return counts
    finally:
        await redis.aclose()


async def erased_meetings(settings: CommonSettings) -> set[str]:
    """Every "tenant/meeting" erased: the erasure records of the contract's keys topic and the
    aggregator's own erased table (both compacted and kept forever; Faust writes the table's
    keys as JSON)."""
    found: set[str] = set()
    async with TopicReader(settings.kafka_bootstrap_servers,
                           [settings.topics.state(ERASED_TABLE), settings.topics.keys],
                           start="beginning") as reader:
        async for records in reader.to_end():
            for r in records:
                if r.key is None or r.value is None:
                    continue
                if r.topic == settings.topics.keys:
                    with contextlib.suppress(CodecError):
                        if isinstance(event := codec(KEYS).decode(r.value), MeetingShredded):
                            found.add(f"{event.tenant_id}/{event.meeting_id}")
                elif json.loads(r.value):
                    found.add(str(json.loads(r.key)))
    return found


class ReadModelGuard:
    """Rebuilds the read model from Kafka when it lost its data: its epoch marker is gone (a
    Redis that restarted empty, lost its files, was flushed).

    A marker never seen by this process and missing from a read model that holds data is a
    read model from before markers existed: it is kept and marked, not rebuilt (the topics may
    no longer hold everything it has). The caller keeps every other write out meanwhile (the
    aggregator's apply lock), and checks once before its first event."""

    def __init__(self, settings: CommonSettings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        self.known = False  # a marker was seen (or set) by this process

    async def check(self) -> dict[str, int] | None:
        keys = self.settings.redis_keys
        if await self.redis.exists(keys.epoch()):
            self.known = True
            return None
        if not self.known and await self._holds_data():
            log.info("read model without an epoch marker but with data: marked, kept")
            await self.redis.set(keys.epoch(), str(time.time_ns()))
            self.known = True
            return None
        log.warning("read model without its epoch marker: rebuilding it from Kafka")
        counts = await rebuild_read_model(self.settings)
        self.known = True
        log.info("read model rebuilt: %s", counts)
        return counts

    async def _holds_data(self) -> bool:
        async for _ in self.redis.scan_iter(match=self.settings.redis_keys.everything(), count=100):
            return True
        return False
