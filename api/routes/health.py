"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response, status

from stenograph.api.deps import Producer, Settings, Store

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Redis or Kafka unreachable, or live delivery not "
                                                  "reading; the body says which"}})
async def readyz(request: Request, store: Store, producer: Producer, settings: Settings,
                 response: Response) -> dict[str, str]:
    checks: dict[str, str] = {"live": "ok" if request.app.state.live.healthy else "error: not reading"}
    try:
        await asyncio.wait_for(store.redis.ping(), 2)
        checks["redis"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        checks["redis"] = f"error: {type(exc).__name__}"
    try:
        await asyncio.wait_for(producer.partitions_for(settings.topics.commands), 5)
        checks["kafka"] = "ok"
    except Exception as exc:
        checks["kafka"] = f"error: {type(exc).__name__}"
    if any(v != "ok" for v in checks.values()):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return checks
