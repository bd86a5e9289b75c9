"""Documented error responses, so clients (and schema checkers) know every status we answer,
and the 404 of a meeting the read model does not hold."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from pydantic import BaseModel

from stenograph.api.logs import name_request
from stenograph.readmodel import Meeting, ReadStore


class ErrorDetail(BaseModel):
    detail: str | list[dict[str, Any]]


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorDetail, "description": description}


CLIENT: dict[int | str, dict[str, Any]] = {
    401: _doc("missing, invalid or revoked X-API-Key"),
    404: _doc("no such meeting for this account (another account's meetings look the same)"),
    429: _doc("over the account's request rate or bot limit; see Retry-After"),
}
ADMIN: dict[int | str, dict[str, Any]] = {
    403: _doc("missing or wrong X-Admin-API-Key, or the admin API is off"),
    404: _doc("no such user or token"),
    409: _doc("the user exists"),
}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _doc("a bot is already in that meeting")}


async def meeting_id_or_404(store: ReadStore, tenant: str, platform: str, native_id: str) -> str:
    """The tenant's meeting id; another tenant's meeting is missing all the same."""
    meeting_id = await store.resolve(tenant, platform, native_id)
    if meeting_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meeting {platform}/{native_id}")
    name_request(meeting_id=meeting_id)
    return meeting_id


async def meeting_or_404(store: ReadStore, tenant: str, platform: str, native_id: str) -> Meeting:
    """The tenant's meeting by its platform reference; 404 when missing, foreign or erased."""
    meeting = await store.meeting_by_ref(tenant, platform, native_id)
    if meeting is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meeting {platform}/{native_id}")
    name_request(meeting_id=meeting.id)
    return meeting
