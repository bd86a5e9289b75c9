"""Bots: requests become commands on Kafka (JoinRequested, LeaveRequested, ConfigChanged)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from stenograph.api.deps import Producer, Settings, Store, Tenant, send_command
from stenograph.api.errors import CLIENT, CONFLICT, meeting_or_404
from stenograph.api.logs import name_request
from stenograph.api.models import Accepted, BotConfig, BotRequest, BotStatusList, Meeting, NativeId, Platform
from stenograph.readmodel import ACTIVE_STATES, ReadStore
from stenograph.schemas import ConfigChanged, JoinRequested, LeaveRequested

router = APIRouter(tags=["bots"], responses=CLIENT)
NativePath = Annotated[NativeId, Path()]
RETRY_AFTER_S = 30  # bots take about this long to join or leave


async def _active_bot(store: ReadStore, tenant: str, platform: Platform, native_id: str) -> Meeting:
    meeting = await meeting_or_404(store, tenant, platform, native_id)
    if meeting.status not in ACTIVE_STATES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no running bot in {platform}/{native_id}")
    return meeting


@router.post("/bots", status_code=status.HTTP_201_CREATED, response_model=Meeting, responses=CONFLICT)
async def request_bot(
    body: BotRequest, store: Store, producer: Producer, settings: Settings, tenant: Tenant
) -> Meeting:
    current = await store.resolve(tenant, body.platform, body.native_meeting_id)
    if current is not None:
        meeting = await store.meeting(tenant, current)
        if meeting is not None and meeting.status in ACTIVE_STATES:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"a bot for {body.platform}/{body.native_meeting_id} is already {meeting.status}",
            )
    limit = int((await store.tenant(tenant) or {}).get("max_concurrent_bots", 0))
    running = len(await store.running_bots(tenant))
    if running >= limit:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"{running} bots running; this account may run {limit} at once",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    event = JoinRequested(
        tenant_id=tenant,
        meeting_id=uuid.uuid4().hex,
        platform=body.platform,
        native_meeting_id=body.native_meeting_id,
        bot_name=body.bot_name or settings.default_bot_name,
        passcode=body.passcode,
        language=body.language,
        task=body.task,
        automatic_leave={str(k): v for k, v in (body.automatic_leave or {}).items()},
    )
    name_request(meeting_id=event.meeting_id)
    await send_command(producer, settings, event)
    return Meeting(
        id=event.meeting_id, platform=event.platform, native_meeting_id=event.native_meeting_id,
        status="requested",
    )


@router.delete("/bots/{platform}/{native_meeting_id}", status_code=status.HTTP_202_ACCEPTED,
               response_model=Accepted)
async def stop_bot(platform: Platform, native_meeting_id: NativePath, store: Store, producer: Producer,
                   settings: Settings, tenant: Tenant) -> Accepted:
    meeting = await _active_bot(store, tenant, platform, native_meeting_id)
    await send_command(producer, settings, LeaveRequested(tenant_id=tenant, meeting_id=meeting.id))
    return Accepted(message="leave requested", id=meeting.id)


@router.put("/bots/{platform}/{native_meeting_id}/config", status_code=status.HTTP_202_ACCEPTED,
            response_model=Accepted)
async def configure_bot(platform: Platform, native_meeting_id: NativePath, body: BotConfig,
                        store: Store, producer: Producer, settings: Settings, tenant: Tenant) -> Accepted:
    """Language and task from the next segment on."""
    meeting = await _active_bot(store, tenant, platform, native_meeting_id)
    await send_command(producer, settings, ConfigChanged(
        tenant_id=tenant, meeting_id=meeting.id, language=body.language,
        task=body.task.value if body.task else None))
    return Accepted(message="config change requested", id=meeting.id)


@router.get("/bots/status", response_model=BotStatusList)
async def bots_status(store: Store, tenant: Tenant) -> BotStatusList:
    return BotStatusList(running_bots=await store.running_bots(tenant))
