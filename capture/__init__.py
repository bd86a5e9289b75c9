"""Capture: bots in meetings, files and WhisperLive clients, publishing audio frames.

Its public names load on first use (stenograph/lazy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stenograph.lazy import lazy_names

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

__getattr__ = lazy_names(__name__, _WHERE)
