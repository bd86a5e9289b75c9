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
from stenograph.runtime import CommonSettings, TopicReader
from stenograph.schemas import COMMANDS, LIFECYCLE, SEGMENTS, TENANTS, CodecError

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
