"""Replays: new transcript versions of a meeting from its stored audio, and the run listing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from aiokafka import AIOKafkaConsumer
from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status

from stenograph.api.deps import Producer, Settings, Store, Tenant, send_command
from stenograph.api.errors import CLIENT, meeting_id_or_404
from stenograph.api.models import DefaultRun, NativeId, Platform, ReplayRequest, Run, RunList
from stenograph.commands import ReplayRefused, request_replay
from stenograph.schemas import DefaultRunSelected

router = APIRouter(tags=["replays"], responses=CLIENT)
NativePath = Annotated[NativeId, Path()]


def get_offsets(request: Request) -> AIOKafkaConsumer:
    consumer: AIOKafkaConsumer = request.app.state.offsets
    return consumer


Offsets = Annotated[AIOKafkaConsumer, Depends(get_offsets)]


def _run(entry: dict[str, Any], default: str) -> Run:
    def at(ns: int) -> datetime:
        return datetime.fromtimestamp(ns / 1e9, tz=UTC)

    return Run(
        run_id=entry["run_id"], state=entry["state"], model=entry["model"],
        language=entry.get("language"), task=entry.get("task", "transcribe"),
        progress=entry.get("progress", 0.0), progress_percent=round(100 * entry.get("progress", 0.0), 1),
        eta_s=entry.get("eta_s"), audio_s=entry.get("audio_s", 0.0), segments=entry.get("segments", 0),
        error=entry.get("error"), created_at=at(entry["created_ns"]), updated_at=at(entry["updated_ns"]),
        is_default=entry["run_id"] == default,
    )


@router.post("/meetings/{platform}/{native_meeting_id}/replays", response_model=Run,
             status_code=status.HTTP_202_ACCEPTED,
             responses={200: {"description": "an equal run is already in progress; that run"},
                        404: {}, 409: {"description": "no stored audio"},
                        410: {"description": "audio past retention"}, 422: {}})
async def create_replay(
    platform: Platform, native_meeting_id: NativePath, body: ReplayRequest, store: Store,
    producer: Producer, offsets: Offsets, settings: Settings, tenant: Tenant, response: Response,
) -> Run:
    try:
        ticket = await request_replay(
            store=store, producer=producer, offsets=offsets, topics=settings.topics, tenant=tenant,
            platform=platform, native_meeting_id=native_meeting_id, model=body.model,
            language=body.language, task=body.task,
        )
    except ReplayRefused as exc:
        if exc.field is not None:
            raise HTTPException(exc.status, [{"loc": ["body", exc.field], "msg": str(exc),
                                              "type": "value_error"}]) from None
        raise HTTPException(exc.status, str(exc)) from None
    if ticket.existing:
        response.status_code = status.HTTP_200_OK
    return _run(ticket.run, await store.default_run(tenant, ticket.meeting_id))


@router.get("/meetings/{platform}/{native_meeting_id}/runs", response_model=RunList)
async def list_runs(platform: Platform, native_meeting_id: NativePath, store: Store,
                    tenant: Tenant) -> RunList:
    meeting_id = await meeting_id_or_404(store, tenant, platform, native_meeting_id)
    default, why = await store.default_run_why(tenant, meeting_id)
    runs = [_run(r, default) for r in await store.runs(tenant, meeting_id)]
    return RunList(meeting_id=meeting_id, default_run=default, default_reason=why, runs=runs)


@router.put("/meetings/{platform}/{native_meeting_id}/default_run",
            status_code=status.HTTP_202_ACCEPTED)
async def set_default_run(
    platform: Platform, native_meeting_id: NativePath, body: DefaultRun, store: Store,
    producer: Producer, settings: Settings, tenant: Tenant,
) -> dict[str, str]:
    meeting_id = await meeting_id_or_404(store, tenant, platform, native_meeting_id)
    if body.run_id not in {r["run_id"] for r in await store.runs(tenant, meeting_id)}:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            [{"loc": ["body", "run_id"], "msg": f"no run {body.run_id} of this meeting",
                              "type": "value_error"}])
    event = DefaultRunSelected(tenant_id=tenant, meeting_id=meeting_id, run_id=body.run_id,
                               event_id=uuid.uuid4().hex)
    await send_command(producer, settings, event)
    return {"meeting_id": meeting_id, "default_run": body.run_id}
