"""The Faust app, built by a factory; its agents only delegate to AggregatorHandlers."""

from __future__ import annotations

from typing import Any

import faust
from redis.asyncio import Redis

from stenograph.aggregate.handlers import AggregatorHandlers
from stenograph.aggregate.settings import AggregatorSettings
from stenograph.aggregate.sink import RedisSink
from stenograph.runtime.kafka import dlq_headers
from stenograph.schemas.errors import CodecError
from stenograph.schemas.topics import COMMANDS, LIFECYCLE, SEGMENTS, TENANTS

STAGE = "aggregator"


def create_app(settings: AggregatorSettings) -> faust.App:
    app = faust.App(
        f"{settings.topic_prefix}{settings.app_id}",
        broker=f"kafka://{settings.kafka_bootstrap_servers.replace(',', ';kafka://')}",
        store="memory://",  # no tables: Redis and Kafka hold everything
        web_enabled=False,
        topic_allow_declare=False,  # topics come from the registry, created by `stenograph up`
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_every=100,
        broker_commit_interval=1.0,
    )
    topics = settings.topics

    def raw_topic(name: str) -> Any:
        return app.topic(name, key_serializer="raw", value_serializer="raw")

    segments_in = raw_topic(topics.segments)
    lifecycle_in = raw_topic(topics.lifecycle)
    commands_in = raw_topic(topics.commands)
    tenants_in = raw_topic(topics.tenants)
    transcripts_out = raw_topic(topics.transcripts)
    dlqs = {base: raw_topic(topics.dlq(base)) for base in (SEGMENTS, LIFECYCLE, COMMANDS, TENANTS)}
    positions: dict[str, tuple[int, int]] = {}
    redis = Redis.from_url(settings.redis_url, decode_responses=True)

    async def dead_letter(base: str, key: bytes | None, value: bytes | None, exc: CodecError) -> None:
        partition, offset = positions.get(base, (-1, -1))
        headers = dlq_headers(exc, stage=STAGE, topic=topics.name(base), partition=partition,
                              offset=offset)
        fut = await dlqs[base].send(key=key, value=value, headers=headers)
        await fut  # durable before the poison message's offset is committed

    async def publish(key: bytes, value: bytes | None) -> None:
        await transcripts_out.send(key=key, value=value)

    handlers = AggregatorHandlers(RedisSink(redis, settings.redis_keys), dead_letter, publish)

    @app.agent(segments_in)
    async def segments(stream: Any) -> None:
        async for event in stream.events():
            positions[SEGMENTS] = (event.message.partition, event.message.offset)
            await handlers.on_segment(event.key, event.value)

    @app.agent(lifecycle_in)
    async def lifecycle(stream: Any) -> None:
        async for event in stream.events():
            positions[LIFECYCLE] = (event.message.partition, event.message.offset)
            await handlers.on_lifecycle(event.key, event.value)

    @app.agent(commands_in)
    async def commands(stream: Any) -> None:
        async for event in stream.events():
            positions[COMMANDS] = (event.message.partition, event.message.offset)
            await handlers.on_command(event.key, event.value)

    @app.agent(tenants_in)
    async def tenants(stream: Any) -> None:
        async for event in stream.events():
            positions[TENANTS] = (event.message.partition, event.message.offset)
            await handlers.on_tenant(event.key, event.value)

    return app
