"""What a bot makes of the manager's lines on its stdin (no browser, no Kafka)."""

from __future__ import annotations

from typing import Any

import pytest

from stenograph.capture.bots.bot import BotRun
from stenograph.capture.bots.settings import BotSettings
from stenograph.capture.bots.states import Happening as H
from stenograph.schemas.events import JoinRequested


def ending(*messages: dict[str, Any]) -> tuple[H, str | None] | None:
    bot = BotRun(JoinRequested(tenant_id="acme", meeting_id="m1", platform="zoom",
                               native_meeting_id="1234567890", bot_name="b"),
                 BotSettings(), producer=None)  # type: ignore[arg-type]
    for message in messages:
        bot.control.put_nowait(message)
    return bot._leave_request()


@pytest.mark.parametrize(("leave", "expected"), [
    ("meeting_erased", (H.MEETING_ERASED, "meeting_erased")),  # its own reason: completed: meeting_erased
    ("leave_requested", (H.LEAVE_REQUESTED, "leave_requested")),
    ("manager_stopped", (H.LEAVE_REQUESTED, "manager_stopped")),
])
def test_a_leave_ends_the_bot_with_its_reason(leave: str, expected: tuple[H, str]) -> None:
    assert ending({"leave": leave}) == expected


def test_a_config_line_is_no_command_of_the_bots() -> None:
    """The transcriber applies language and task from the commands topic; the bot ignores them."""
    assert ending({"config": {"language": "de", "task": None}}) is None
