"""Publishing tenant events: tenants, API keys minted or revoked (the tenants topic is their record)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from stenograph.runtime import CommonSettings, create_topics, reliable_producer
from stenograph.schemas import (
    TENANTS,
    ApiKeyRevoked,
    Event,
    MintedKey,
    TenantUpserted,
    TopicNames,
    check_key_id,
    check_tenant,
    codec,
    key_of,
    mint,
)


def whole_tenant(tenant_id: str, current: dict[str, str] | None, *, name: str | None = None,
                 email: str | None = None, max_concurrent_bots: int | None = None,
                 webhook_url: str | None = None, webhook_secret: str | None = None) -> TenantUpserted:
    """Pure: the tenant as it is to be, every field set. The tenants topic is compacted by
    tenant, so its last record must carry the whole tenant, not only what changed."""
    now = current or {}
    limit = max_concurrent_bots if max_concurrent_bots is not None else now.get("max_concurrent_bots")
    return TenantUpserted(
        tenant_id=tenant_id, name=name if name is not None else now.get("name"),
        email=email if email is not None else now.get("email"),
        max_concurrent_bots=int(limit) if limit is not None else None,
        webhook_url=webhook_url if webhook_url is not None else now.get("webhook_url"),
        webhook_secret=webhook_secret if webhook_secret is not None else now.get("webhook_secret"),
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
