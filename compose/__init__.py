"""Deployments: the local process stack and the container images.

Its public names load on first use (stenograph/lazy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stenograph.lazy import lazy_names

if TYPE_CHECKING:
    from stenograph.compose.local.stack import StackConfig, down, status, up
    from stenograph.compose.local.supervisor import supervise

_WHERE = {
    "down": "local.stack",
    "StackConfig": "local.stack",
    "status": "local.stack",
    "supervise": "local.supervisor",
    "up": "local.stack",
}
__all__ = [
    "StackConfig",
    "down",
    "status",
    "supervise",
    "up",
]

__getattr__ = lazy_names(__name__, _WHERE)
