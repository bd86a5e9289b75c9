"""Assembled transcripts, read from Redis."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response

from stenograph.api.deps import Store, Tenant
from stenograph.api.errors import CLIENT
from stenograph.api.exports import MEDIA_TYPES, RENDER
from stenograph.api.models import NativeId, Platform, Transcript
from stenograph.readmodel import NO_WORDS
from stenograph.schemas import LIVE_RUN, SETTLED_RUN

router = APIRouter(tags=["transcripts"], responses=CLIENT)


@router.get("/transcripts/{platform}/{native_meeting_id}", response_model=Transcript, responses={
    200: {"content": {t: {"schema": {"type": "string"}} for t in MEDIA_TYPES.values()}}})
async def get_transcript(
    platform: Platform,
    native_meeting_id: Annotated[NativeId, Path()],
    store: Store,
    tenant: Tenant,
    run: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$",
                                     description="a run id; default: the meeting's default run")] = None,
    format: Annotated[Literal["json", "txt", "srt", "vtt"], Query(
        description="json (default), or plain text, SubRip or WebVTT with speaker names")] = "json",
    words: Annotated[bool, Query(description="each segment's word timings too (json)")] = False,
) -> Transcript | Response:
    meeting_id = await store.resolve(tenant, platform, native_meeting_id)
    transcript = None
    if meeting_id is not None:
        run_id = run or await store.default_run(tenant, meeting_id)
        # the settled run is default as soon as it has text, maybe before its listing entry
        known = {r["run_id"] for r in await store.runs(tenant, meeting_id)} | {LIVE_RUN, SETTLED_RUN}
        if run_id not in known:
            raise HTTPException(404, f"no run {run_id} of {platform}/{native_meeting_id}")
        transcript = await store.transcript(tenant, meeting_id, run_id, words=words and format == "json")
    if transcript is None:
        raise HTTPException(404, f"no meeting {platform}/{native_meeting_id}")
    if format != "json":
        return Response(RENDER[format](transcript), media_type=MEDIA_TYPES[format], headers={
            "Content-Disposition": f'attachment; filename="{platform}-{native_meeting_id}.{format}"'})
    # one Rust pass: FastAPI's re-validation and jsonable_encoder cost more than the read itself
    return Response(transcript.model_dump_json(exclude=None if words else NO_WORDS),
                    media_type="application/json")
