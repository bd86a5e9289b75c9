"""`stenograph rebuild`: the whole Redis read model restored from Kafka.

Clears every key under the read model's prefix, then reads the tenants, commands, lifecycle
and segments topics from their beginnings to their current ends through the same handlers the
aggregator runs. The reducers are order-insensitive, so the result equals what the live
aggregator built. TranscriptUpdated is not re-published (the compacted topic has it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from stenograph.aggregate.handlers import AggregatorHandlers
from stenograph.aggregate.sink import RedisSink
from stenograph.runtime.kafka import assign_from, plain_consumer, topic_partitions
from stenograph.runtime.settings import CommonSettings
from stenograph.schemas.errors import CodecError
from stenograph.schemas.topics import COMMANDS, LIFECYCLE, SEGMENTS, TENANTS

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]


async def clear_read_model(redis: Redis, pattern: str) -> int:
    deleted = 0
    async for key in redis.scan_iter(match=pattern, count=1000):
        deleted += await redis.delete(key)
    return deleted


async def _replay_topic(
    bootstrap: str, topic: str, handle: Callable[[bytes | None, bytes | None], Awaitable[None]],
    progress: Progress,
) -> int:
    async with plain_consumer(bootstrap) as consumer:
        tps = await topic_partitions(consumer, topic)
        if not tps:
            return 0
        await assign_from(consumer, dict.fromkeys(tps))
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
        count = 0
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=2000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset < ends[tp]:
                        await handle(r.key, r.value)
                        count += 1
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            progress(topic, count)
        return count


async def rebuild(settings: CommonSettings, progress: Progress = lambda t, n: None) -> dict[str, int]:
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        cleared = await clear_read_model(redis, settings.redis_keys.everything())

        async def ignore_poison(base: str, key: bytes | None, value: bytes | None, exc: CodecError) -> None:
            """Already parked by the live aggregator."""

        # publish=None: the compacted transcripts topic already holds every TranscriptUpdated
        handlers = AggregatorHandlers(RedisSink(redis, settings.redis_keys), ignore_poison, None)
        counts = {"cleared_keys": cleared}
        topics = settings.topics
        for base, handle in ((TENANTS, handlers.on_tenant), (COMMANDS, handlers.on_command),
                             (LIFECYCLE, handlers.on_lifecycle), (SEGMENTS, handlers.on_segment)):
            counts[base] = await _replay_topic(settings.kafka_bootstrap_servers, topics.name(base),
                                               handle, progress)
        return counts
    finally:
        await redis.aclose()
