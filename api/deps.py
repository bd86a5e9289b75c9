"""Request dependencies: the opened clients live on app.state, set up in the lifespan."""

from __future__ import annotations

import time
from typing import Annotated

from aiokafka import AIOKafkaProducer
from fastapi import Depends, HTTPException, Query, Request, Security, status
from fastapi.security import APIKeyHeader

from stenograph.api.logs import name_request
from stenograph.api.ratelimit import RateLimiter
from stenograph.api.settings import ApiSettings
from stenograph.api.tickets import tenant_of
from stenograph.readmodel import ReadStore
from stenograph.schemas import COMMANDS, Event, codec, hash_key, key_of, verify


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_store(request: Request) -> ReadStore:
    store: ReadStore = request.app.state.store
    return store


def get_producer(request: Request) -> AIOKafkaProducer:
    producer: AIOKafkaProducer = request.app.state.producer
    return producer


api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="a tenant's API key (`stenograph key create`)")
admin_key_header = APIKeyHeader(name="X-Admin-API-Key", auto_error=False,
                                description="the operator's key (STENOGRAPH_ADMIN_API_KEY)")


async def get_tenant(
    request: Request, key: Annotated[str | None, Security(api_key_header)]
) -> str:
    """The caller's tenant, from its API key; every read and write is scoped to it."""
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "X-API-Key header required")
    tenant = await get_store(request).tenant_for_key(key)
    if tenant is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key")
    return _admitted(request, tenant)


def _admitted(request: Request, tenant: str) -> str:
    """The tenant, named in the request's log line, within its request rate (429 over it)."""
    name_request(tenant_id=tenant)
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.take(tenant, time.monotonic())
    if wait > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "request rate over this account's limit",
                            headers={"Retry-After": limiter.retry_after(wait)})
    return tenant


async def get_live_tenant(
    request: Request, key: Annotated[str | None, Security(api_key_header)],
    ticket: Annotated[str | None, Query(description="a ticket from POST /live/tickets, for "
                                        "clients that cannot set headers (EventSource)")] = None,
) -> str:
    """The caller's tenant from its API key, or from a short-lived ticket (api/tickets.py)."""
    if key or not ticket:
        return await get_tenant(request, key)
    tenant = tenant_of(get_settings(request).master_key, ticket, time.time())
    if tenant is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired ticket")
    return _admitted(request, tenant)


def require_admin(
    settings: Annotated[ApiSettings, Depends(get_settings)],
    key: Annotated[str | None, Security(admin_key_header)],
) -> None:
    if not settings.admin_api_key:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the admin API is off (no STENOGRAPH_ADMIN_API_KEY)")
    if not key or not verify(key, hash_key(settings.admin_api_key)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid X-Admin-API-Key")


Settings = Annotated[ApiSettings, Depends(get_settings)]
Store = Annotated[ReadStore, Depends(get_store)]
Producer = Annotated[AIOKafkaProducer, Depends(get_producer)]
Tenant = Annotated[str, Depends(get_tenant)]
LiveTenant = Annotated[str, Depends(get_live_tenant)]


async def send_command(producer: AIOKafkaProducer, settings: ApiSettings, event: Event) -> None:
    """A command on the commands topic, durable before the request is answered."""
    await producer.send_and_wait(settings.topics.commands, codec(COMMANDS).encode(event),
                                 key=key_of(event))
