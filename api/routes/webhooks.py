"""The caller's webhook: where signed deliveries go, and what happened to the last ones."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from stenograph.api.deps import Producer, Settings, Store, Tenant
from stenograph.api.errors import CLIENT
from stenograph.api.models import Webhook, WebhookDeliveries, WebhookDelivery, WebhookRequest
from stenograph.commands import TargetError, check_url, send, whole_tenant
from stenograph.schemas import new_secret, seal_secret

router = APIRouter(tags=["webhooks"], responses=CLIENT)


@router.put("/user/webhook", response_model=Webhook)
async def set_webhook(body: WebhookRequest, producer: Producer, settings: Settings, store: Store,
                      tenant: Tenant) -> Webhook:
    """Deliveries go to this URL from now on, signed with a new secret (returned once here)."""
    try:
        url = await asyncio.to_thread(check_url, body.webhook_url,
                                      allow_private=settings.webhook_allow_private)
    except TargetError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, [
            {"loc": ["body", "webhook_url"], "msg": str(exc), "type": "value_error"}]) from None
    secret = new_secret()  # shown once here; Kafka and Redis keep it sealed by the master key
    sealed = seal_secret(settings.master_key, secret, tenant)
    await send(producer, settings.topics, whole_tenant(tenant, await store.tenant(tenant),
                                                       webhook_url=url, webhook_secret=sealed))
    return Webhook(webhook_url=url, webhook_secret=secret)


@router.get("/user/webhook", response_model=Webhook)
async def get_webhook(store: Store, tenant: Tenant) -> Webhook:
    return Webhook(webhook_url=(await store.tenant(tenant) or {}).get("webhook_url") or None)


@router.delete("/user/webhook", status_code=status.HTTP_204_NO_CONTENT)
async def remove_webhook(producer: Producer, settings: Settings, store: Store, tenant: Tenant) -> None:
    await send(producer, settings.topics, whole_tenant(tenant, await store.tenant(tenant),
                                                       webhook_url="", webhook_secret=""))


@router.get("/user/webhook/deliveries", response_model=WebhookDeliveries)
async def webhook_deliveries(store: Store, settings: Settings, tenant: Tenant,
                             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> WebhookDeliveries:
    raw = await store.redis.lrange(settings.redis_keys.webhook_log(tenant), 0, limit - 1)
    deliveries = []
    for item in raw:
        entry = json.loads(item)
        deliveries.append(WebhookDelivery(
            **{k: v for k, v in entry.items() if k != "at_ns"},
            at=datetime.fromtimestamp(entry["at_ns"] / 1e9, tz=UTC)))
    return WebhookDeliveries(deliveries=deliveries)
