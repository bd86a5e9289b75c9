"""Process logging: text, or one JSON object per line (`--log-format json`), each line carrying
the meeting and tenant it is about.

A stage says which meeting it is working on with `log_context(meeting_id=..., tenant_id=...)`
(a context variable, so concurrent asyncio tasks keep their own); every line logged inside gets
those fields. Keys and secrets are never put in a context.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
CONTEXT_FIELDS = ("meeting_id", "tenant_id")
# an immutable default: a context is replaced, never changed in place
_context: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("stenograph_log_context", default=())


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Lines logged inside name these ids (those given and not None), on top of outer ones."""
    merged = dict(_context.get()) | {k: v for k, v in ids.items() if v is not None}
    token = _context.set(tuple(merged.items()))
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current log context onto each record (fields the call set itself win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class TextFormatter(logging.Formatter):
    """The classic line, with ` [meeting=… tenant=…]` when the record has them."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [f"{k.removesuffix('_id')}={v}" for k in CONTEXT_FIELDS if (v := getattr(record, k, None))]
        return f"{line} [{' '.join(ids)}]" if ids else line


def formatter(fmt: LogFormat) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                             rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
    return TextFormatter()


def handler(fmt: LogFormat = "text") -> logging.Handler:
    """A stderr handler writing `fmt`, with the log context on every line."""
    out = logging.StreamHandler(sys.stderr)
    out.addFilter(ContextFilter())
    out.setFormatter(formatter(fmt))
    return out


def configure(level: str = "INFO", fmt: LogFormat = "text") -> None:
    """Root logging to stderr in `fmt`; replaces what was configured before."""
    logging.basicConfig(level=level.upper(), handlers=[handler(fmt)], force=True)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def faust_logging(level: str = "INFO") -> dict[str, Any]:
    """The `logging_config` for a faust.Worker, which sets up logging itself when it starts (its
    own coloured format on stdout): no handler of its own on the root logger, whose handler then
    is the one in the app's `loghandlers` setting, `handler(fmt)`."""
    return {"version": 1, "disable_existing_loggers": False,
            "root": {"level": level.upper(), "handlers": []}}
