"""Capture: bots in meetings, files and WhisperLive clients, publishing audio frames.

Its public names load on first use, so importing one module of the stage does not load
the rest (a model, a browser driver).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stenograph.capture.bots.bot import parse_request, run_bot
    from stenograph.capture.bots.launcher import ProcessLauncher
    from stenograph.capture.bots.leave import LeaveRules
    from stenograph.capture.bots.manager import run_manager
    from stenograph.capture.bots.settings import BotSettings
    from stenograph.capture.bots.states import is_final
    from stenograph.capture.decode import MediaError
    from stenograph.capture.stream import stream_file
    from stenograph.capture.whisperlive.gateway import Gateway
    from stenograph.capture.whisperlive.settings import GatewaySettings

_WHERE = {
    "BotSettings": "bots.settings",
    "Gateway": "whisperlive.gateway",
    "GatewaySettings": "whisperlive.settings",
    "is_final": "bots.states",
    "LeaveRules": "bots.leave",
    "MediaError": "decode",
    "parse_request": "bots.bot",
    "ProcessLauncher": "bots.launcher",
    "run_bot": "bots.bot",
    "run_manager": "bots.manager",
    "stream_file": "stream",
}
__all__ = [
    "BotSettings",
    "Gateway",
    "GatewaySettings",
    "LeaveRules",
    "MediaError",
    "ProcessLauncher",
    "is_final",
    "parse_request",
    "run_bot",
    "run_manager",
    "stream_file",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
