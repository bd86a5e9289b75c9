"""Webhooks: signed POSTs of meeting status and finalized transcripts.

Its public names load on first use (stenograph/lazy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stenograph.lazy import lazy_names

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

__getattr__ = lazy_names(__name__, _WHERE)
