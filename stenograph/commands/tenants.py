"""Publishing tenant events: tenants, API keys minted or revoked (the tenants topic is their record)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from stenograph.runtime import CommonSettings, create_topics, reliable_producer
from stenograph.schemas import (
    TENANTS,
    ApiKeyRevoked,
    Event,
    MintedKey,
    TopicNames,
    check_key_id,
    check_tenant,
    codec,
    key_of,
    mint,
)


async def send(producer: AIOKafkaProducer, topics: TopicNames, event: Event) -> None:
    await producer.send_and_wait(topics.tenants, codec(TENANTS).encode(event), key=key_of(event))


async def publish(settings: CommonSettings, event: Event) -> None:
    await create_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)
    producer = reliable_producer(settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await send(producer, settings.topics, event)
    finally:
        await producer.stop()


async def create_key(settings: CommonSettings, tenant: str, label: str = "") -> MintedKey:
    """A new key for `tenant` (which comes into being with its first key)."""
    minted = mint(tenant, label)
    await publish(settings, minted.event)
    return minted


async def revoke_key(settings: CommonSettings, tenant: str, key_id: str) -> None:
    await publish(settings, ApiKeyRevoked(tenant_id=check_tenant(tenant), key_id=check_key_id(key_id)))
