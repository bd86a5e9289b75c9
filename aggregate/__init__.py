"""The aggregator (faust-streaming): the read model and the transcript topics.

Its public names load on first use, so importing one module of the stage does not load
the rest (a model, a browser driver).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
