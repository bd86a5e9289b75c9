"""Assembled transcripts, read from Redis."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from api.deps import Store, Tenant
from api.models import NativeId, Platform, Transcript

router = APIRouter(tags=["transcripts"])


@router.get("/transcripts/{platform}/{native_meeting_id}", response_model=Transcript)
async def get_transcript(
    platform: Platform,
    native_meeting_id: Annotated[NativeId, Path()],
    store: Store,
    tenant: Tenant,
    run: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "live",
) -> Transcript:
    meeting_id = await store.resolve(tenant, platform, native_meeting_id)
    transcript = await store.transcript(tenant, meeting_id, run) if meeting_id else None
    if transcript is None:
        raise HTTPException(404, f"no meeting {platform}/{native_meeting_id}")
    return transcript
