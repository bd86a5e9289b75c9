"""Deployments: the local process stack and the container images.

Its public names load on first use, so importing one module of the stage does not load
the rest (a model, a browser driver).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stenograph.compose.local.stack import StackConfig, down, status, up

_WHERE = {
    "down": "local.stack",
    "StackConfig": "local.stack",
    "status": "local.stack",
    "up": "local.stack",
}
__all__ = [
    "StackConfig",
    "down",
    "status",
    "up",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
