"""The API's log lines: keys never reach one, and each request's line names its tenant and
meeting.

Browsers may pass the API key in the query string (`?api_key=`), and uvicorn logs each request's
path, so those values are masked before any line is written. Uvicorn writes a request's access
line inside the ASGI `send` of the response's start, after the endpoint has found out whose
request it is: `RequestIds` hands the app a `send` that runs under `log_context` with the ids the
request named (`name_request`) by then.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stenograph.runtime import log_context

SECRET_PARAMS = re.compile(r"((?:api_key|token|ticket)=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    return SECRET_PARAMS.sub(r"\1***", text)


class RedactKeys(logging.Filter):
    """Masks inside the record's arguments, so formatters that read them (uvicorn's access
    formatter unpacks `args`) still find them, and in the message itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact_server_logs() -> None:
    """Mask keys in uvicorn's access and connection lines (they reach the root handlers)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactKeys())


# the ids of the request being served; a dict filled in as the endpoint learns them
_request_ids: ContextVar[dict[str, str] | None] = ContextVar("stenograph_request_ids", default=None)


def name_request(**ids: str) -> None:
    """The request being served is this tenant's, about this meeting: its log lines say so."""
    current = _request_ids.get()
    if current is not None:
        current.update(ids)


class RequestIds:
    """ASGI middleware: the server's lines for a request (its access line, a socket's accept)
    carry the ids the request named before its response started."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ids: dict[str, str] = {}
        token = _request_ids.set(ids)  # tasks the app starts copy the context: the same dict

        async def named(message: Message) -> None:
            with log_context(**ids):
                await send(message)

        try:
            await self.app(scope, receive, named)
        finally:
            _request_ids.reset(token)
