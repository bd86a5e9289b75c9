"""The HTTP API (FastAPI): reads the read model, writes commands.

Its public names load on first use, so importing one module of the stage does not load
the rest (a model, a browser driver).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stenograph.api.logs import redact_server_logs
    from stenograph.api.main import create_app
    from stenograph.api.settings import ApiSettings

_WHERE = {
    "ApiSettings": "settings",
    "create_app": "main",
    "redact_server_logs": "logs",
}
__all__ = [
    "ApiSettings",
    "create_app",
    "redact_server_logs",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
