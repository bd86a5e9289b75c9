"""Keys never reach a log: browsers may pass the API key in the query string (`?api_key=`), and
uvicorn logs each request's path, so those values are masked before any line is written."""

from __future__ import annotations

import logging
import re

SECRET_PARAMS = re.compile(r"((?:api_key|token)=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    return SECRET_PARAMS.sub(r"\1***", text)


class RedactKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def redact_server_logs() -> None:
    """Mask keys in uvicorn's access and connection lines (they reach the root handlers)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactKeys())
