"""What the meeting page says about the bot's place in the call -> what happened. Pure.

A lobby is never taken for admission: the call's own UI must be there and no lobby text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stenograph.capture.bots.states import Happening
from stenograph.schemas import BotState


@dataclass(frozen=True)
class Probe:
    admitted: bool = False
    lobby: bool = False
    rejected: str | None = None
    removed: str | None = None
    ended: str | None = None
    others: int = 0
    tracks: int = 0

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Probe:
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})


def verdict(state: BotState, probe: Probe) -> tuple[Happening, str | None] | None:
    """The happening the page shows, with the page's words as sub-code; None when nothing new."""
    if state in (BotState.JOINING, BotState.AWAITING_ADMISSION):
        if probe.rejected:
            return Happening.REJECTED, probe.rejected
        if probe.ended:
            return Happening.MEETING_ENDED, probe.ended
        if probe.admitted and not probe.lobby:
            return Happening.ADMITTED, None
        if probe.lobby and state == BotState.JOINING:
            return Happening.IN_LOBBY, None
        return None
    if state == BotState.ACTIVE:
        if probe.removed:
            return Happening.REMOVED, probe.removed
        if probe.ended:
            return Happening.MEETING_ENDED, probe.ended
        if not probe.admitted:
            return Happening.MEETING_ENDED, "call_ui_gone"
    return None
