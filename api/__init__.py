"""The HTTP API (FastAPI): reads the read model, writes commands.

Its public names load on first use (stenograph/lazy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stenograph.lazy import lazy_names

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

__getattr__ = lazy_names(__name__, _WHERE)
