"""The operator's API (X-Admin-API-Key): tenants ("users", as Vexa calls them) and their keys.

Writes are events on the compacted tenants topic; reads come from Redis once the aggregator
has materialized them (milliseconds later).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, HTTPException, Response, status

from stenograph.api.deps import Producer, Settings, Store, require_admin
from stenograph.api.errors import ADMIN
from stenograph.api.models import (
    Tenant,
    TenantCreate,
    TenantList,
    TenantUpdate,
    TokenCreated,
    TokenInfo,
    TokenRequest,
)
from stenograph.commands import send, whole_tenant
from stenograph.readmodel import ReadStore, utc_time
from stenograph.schemas import ApiKeyRevoked, mint

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)],
                   responses=ADMIN)


async def _tenant(store: ReadStore, tenant_id: str) -> Tenant:
    stored = await store.tenant(tenant_id)
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {tenant_id}")
    tokens = []
    for key_id in sorted(await store.redis.smembers(store.keys.tenant_keys(tenant_id))):
        key = await store.api_key(str(key_id)) or {}
        tokens.append(TokenInfo(id=str(key_id), user_id=tenant_id, label=key.get("label", ""),
                                created_at=utc_time(key.get("created_ns")),
                                revoked=bool(key.get("revoked_ns"))))
    return Tenant(id=tenant_id, name=stored.get("name", tenant_id), email=stored.get("email"),
                  max_concurrent_bots=int(stored.get("max_concurrent_bots", 0)),
                  created_at=utc_time(stored.get("created_ns")), tokens=tokens)


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=Tenant)
async def create_user(body: TenantCreate, store: Store, producer: Producer, settings: Settings) -> Tenant:
    tenant_id = body.id or f"u{secrets.token_hex(5)}"
    if await store.tenant(tenant_id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {tenant_id} exists")
    event = whole_tenant(tenant_id, None, name=body.name, email=body.email,
                         max_concurrent_bots=body.max_concurrent_bots)
    await send(producer, settings.topics, event)
    return Tenant(id=tenant_id, name=body.name, email=body.email,
                  max_concurrent_bots=body.max_concurrent_bots, created_at=utc_time(str(event.event_time_ns)))


@router.get("/users", response_model=TenantList)
async def list_users(store: Store) -> TenantList:
    return TenantList(users=[await _tenant(store, t) for t in await store.tenant_ids()])


@router.get("/users/{user_id}", response_model=Tenant)
async def get_user(user_id: str, store: Store) -> Tenant:
    return await _tenant(store, user_id)


@router.patch("/users/{user_id}", response_model=Tenant)
async def update_user(user_id: str, body: TenantUpdate, store: Store, producer: Producer,
                      settings: Settings) -> Tenant:
    current = await _tenant(store, user_id)
    await send(producer, settings.topics, whole_tenant(
        user_id, await store.tenant(user_id), name=body.name, email=body.email,
        max_concurrent_bots=body.max_concurrent_bots))
    return current.model_copy(update=body.model_dump(exclude_none=True))


@router.post("/users/{user_id}/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_token(user_id: str, store: Store, producer: Producer, settings: Settings,
                       body: TokenRequest | None = None) -> TokenCreated:
    await _tenant(store, user_id)
    minted = mint(user_id, body.label if body else "")
    await send(producer, settings.topics, minted.event)
    return TokenCreated(id=minted.event.key_id, user_id=user_id, label=minted.event.label,
                        created_at=utc_time(str(minted.event.event_time_ns)), token=minted.key)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: str, store: Store, producer: Producer, settings: Settings) -> Response:
    stored = await store.api_key(token_id)
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id}")
    await send(producer, settings.topics, ApiKeyRevoked(tenant_id=stored["tenant_id"], key_id=token_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
