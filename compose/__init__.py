"""Deployments: the local process stack and the container images.

Its public names load on first use (stenograph/lazy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stenograph.lazy import lazy_names

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

__getattr__ = lazy_names(__name__, _WHERE)
