"""Meetings of the caller's tenant: list, one, its data, and erasure."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from stenograph.api.audio import session_frames
from stenograph.api.deps import Producer, Settings, Store, Tenant, send_command
from stenograph.api.errors import CLIENT, meeting_or_404
from stenograph.api.exports import to_wav
from stenograph.api.models import Accepted, Meeting, MeetingDataPatch, MeetingList, NativeId, Platform
from stenograph.runtime import KeyNotYet, meeting_keys
from stenograph.schemas import MeetingDataUpdated, MeetingErased

router = APIRouter(tags=["meetings"], responses=CLIENT)
NativePath = Annotated[NativeId, Path()]


@router.get("/meetings", response_model=MeetingList)
async def list_meetings(
    store: Store, tenant: Tenant, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> MeetingList:
    return MeetingList(meetings=await store.meetings(tenant, limit))


@router.get("/meetings/{platform}/{native_meeting_id}", response_model=Meeting)
async def get_meeting(platform: Platform, native_meeting_id: NativePath, store: Store,
                      tenant: Tenant) -> Meeting:
    return await meeting_or_404(store, tenant, platform, native_meeting_id)


@router.get("/meetings/{platform}/{native_meeting_id}/audio", response_class=Response, responses={
    200: {"content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
          "description": "the meeting's audio, capture sessions one after another"},
    503: {"description": "the keys that open the stored audio cannot be read now; try again"}})
async def get_audio(platform: Platform, native_meeting_id: NativePath, store: Store, settings: Settings,
                    tenant: Tenant) -> Response:
    meeting = await meeting_or_404(store, tenant, platform, native_meeting_id)
    index = await store.audio_index(tenant, meeting.id)
    sessions = sorted(index.items(), key=lambda item: (item[1]["started_at_ns"], item[0]))
    bootstrap = settings.kafka_bootstrap_servers
    try:
        keys = await meeting_keys(bootstrap, settings.topics.keys, settings.master_key, meeting.id)
        frames = [await session_frames(bootstrap, meeting.id, sid, entry, keys) for sid, entry in sessions]
    except KeyNotYet as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"audio keys not readable now: {exc}",
                            headers={"Retry-After": "5"}) from None
    return Response(to_wav(frames), media_type="audio/wav", headers={
        "Content-Disposition": f'attachment; filename="{platform}-{native_meeting_id}.wav"'})


@router.patch("/meetings/{platform}/{native_meeting_id}", response_model=Meeting)
async def update_meeting_data(platform: Platform, native_meeting_id: NativePath, body: MeetingDataPatch,
                              store: Store, producer: Producer, settings: Settings,
                              tenant: Tenant) -> Meeting:
    meeting = await meeting_or_404(store, tenant, platform, native_meeting_id)
    await send_command(producer, settings, MeetingDataUpdated(
        tenant_id=tenant, meeting_id=meeting.id, data_json=json.dumps(body.data)))
    return meeting.model_copy(update={"data": {**meeting.data, **body.data}})


@router.delete("/meetings/{platform}/{native_meeting_id}", status_code=status.HTTP_202_ACCEPTED,
               response_model=Accepted)
async def erase_meeting(platform: Platform, native_meeting_id: NativePath, store: Store,
                        producer: Producer, settings: Settings, tenant: Tenant) -> Accepted:
    """Erase the meeting: its read model, its transcripts (tombstones), access to its audio.

    A deletion marker on the commands topic makes rebuilds and replays skip it for good.
    """
    meeting = await meeting_or_404(store, tenant, platform, native_meeting_id)
    await send_command(producer, settings, MeetingErased(
        tenant_id=tenant, meeting_id=meeting.id, platform=platform.value,
        native_meeting_id=native_meeting_id))
    return Accepted(message="erasure requested", id=meeting.id)
