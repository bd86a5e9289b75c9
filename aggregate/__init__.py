"""The aggregator (faust-streaming): the read model and the transcript topics.

Its public names load on first use (stenograph/lazy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stenograph.lazy import lazy_names

if TYPE_CHECKING:
    from stenograph.aggregate.app import create_app
    from stenograph.aggregate.rebuild import rebuild_read_model
    from stenograph.aggregate.settings import AggregatorSettings

_WHERE = {
    "AggregatorSettings": "settings",
    "create_app": "app",
    "rebuild_read_model": "rebuild",
}
__all__ = [
    "AggregatorSettings",
    "create_app",
    "rebuild_read_model",
]

__getattr__ = lazy_names(__name__, _WHERE)
