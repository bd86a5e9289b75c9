"""Keys never reach a log: browsers may pass the API key in the query string (`?api_key=`), and
uvicorn logs each request's path, so those values are masked before any line is written."""

from __future__ import annotations

import logging
import re

SECRET_PARAMS = re.compile(r"((?:api_key|token)=)[^&\s\"']+", re.IGNORECASE)


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
