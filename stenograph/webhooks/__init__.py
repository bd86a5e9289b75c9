"""Webhooks: signed POSTs of meeting status and finalized transcripts.

Its public names load on first use, so importing one module of the stage does not load
the rest (a model, a browser driver).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stenograph.webhooks.dispatcher import Dispatcher, WebhookSettings

_WHERE = {
    "Dispatcher": "dispatcher",
    "WebhookSettings": "dispatcher",
}
__all__ = [
    "Dispatcher",
    "WebhookSettings",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
