"""Live transcripts: WebSocket /ws (subscribe, unsubscribe, ping) and the same stream as SSE."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import StreamingResponse

from stenograph.api.deps import LiveTenant, Settings, Store, Tenant
from stenograph.api.errors import CLIENT
from stenograph.api.live import LiveHub, LiveSession
from stenograph.api.logs import name_request
from stenograph.api.models import LiveTicket
from stenograph.api.tickets import TICKET_TTL_S, issue
from stenograph.readmodel import ReadStore
from stenograph.schemas import parse_meeting_ref

router = APIRouter(tags=["live"], responses=CLIENT)
HEARTBEAT_S = 15.0
SUBPROTOCOL = "stenograph"
KEY_PROTOCOL = "key."  # a browser's key, offered as a subprotocol beside SUBPROTOCOL


def _hub(app: Any) -> LiveHub:
    hub: LiveHub = app.state.live
    return hub


@router.post("/live/tickets", response_model=LiveTicket)
async def live_ticket(settings: Settings, tenant: Tenant) -> LiveTicket:
    """A ticket for `/sse?ticket=`, valid for a minute: for EventSource, which cannot send the
    key in a header (a key in a URL would be in every proxy's access log)."""
    return LiveTicket(ticket=issue(settings.master_key, tenant, time.time()), expires_in_s=TICKET_TTL_S)


@router.websocket("/ws")
async def live_socket(websocket: WebSocket) -> None:
    """Subscribe with {"action": "subscribe", "meetings": [{"platform", "native_id"}]}.

    The key comes in the X-API-Key header or, from a browser, as the subprotocol `key.<KEY>`
    offered beside `stenograph` (`new WebSocket(url, ["stenograph", "key." + key])`), so it is
    in no URL; `?api_key=` still works for older clients (masked in every log line).
    """
    store: ReadStore = websocket.app.state.store
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")]
    from_protocol = next((p[len(KEY_PROTOCOL):] for p in offered if p.startswith(KEY_PROTOCOL)), None)
    key = websocket.headers.get("x-api-key") or from_protocol or websocket.query_params.get("api_key")
    tenant = await store.tenant_for_key(key) if key else None
    if tenant is not None:
        name_request(tenant_id=tenant)
    # the key is never echoed back: the server answers with the plain subprotocol only
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    if tenant is None:
        await websocket.send_json({"type": "error", "error": "unauthorized: a valid API key is required"})
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    session = LiveSession(_hub(websocket.app), store, tenant)

    async def send() -> None:
        while True:
            await websocket.send_json(await session.outbox.get())

    sender = asyncio.create_task(send())
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            try:
                message = json.loads(frame.get("text") or "")
            except json.JSONDecodeError:
                await session.outbox.put({"type": "error", "error": "messages must be JSON text"})
                continue
            await session.handle(message)
    except WebSocketDisconnect:
        pass
    finally:
        await session.close()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


@router.get("/sse", response_class=StreamingResponse, responses={
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
          "description": "the WebSocket's messages as server-sent events"}})
async def live_events(
    request: Request, store: Store, tenant: LiveTenant,
    meetings: Annotated[list[str], Query(description="PLATFORM/NATIVE_ID, repeated", min_length=1,
                                         max_length=100)],
) -> StreamingResponse:
    """The live stream for clients without WebSocket: one `event:` per message type. The key
    in X-API-Key, or a ticket from POST /live/tickets in `?ticket=` (EventSource)."""
    refs = []
    for text in meetings:
        try:
            refs.append(parse_meeting_ref(text))
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, [
                {"loc": ["query", "meetings"], "msg": str(exc), "type": "value_error"}]) from None
    session = LiveSession(_hub(request.app), store, tenant)
    for ref in refs:
        if await store.resolve(tenant, ref.platform, ref.native_meeting_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meeting {ref}")
    await session.handle({"action": "subscribe", "meetings": [
        {"platform": r.platform, "native_id": r.native_meeting_id} for r in refs]})

    async def stream() -> AsyncIterator[str]:
        try:
            while not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(session.outbox.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: {message['type']}\ndata: {json.dumps(message)}\n\n"
        finally:
            await session.close()

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
