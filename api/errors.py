"""Documented error responses, so clients (and schema checkers) know every status we answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


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
