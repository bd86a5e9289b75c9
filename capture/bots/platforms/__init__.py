"""What a bot needs to know of each platform's web client: where to click and what to read.

Each platform's selectors and texts live in its own module, so a UI change on one platform is a
change to one file. The bot's flow (flow.py) and the in-page observer (page/capture.js) are
generic over these values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stenograph.schemas import JoinTarget


@dataclass(frozen=True)
class People:
    """Participant tiles and their speaking indicators, as read by the in-page observer."""

    tile: str  # one element per participant
    name: str | None  # inside the tile; None: the tile's own text
    speaking: str  # on the tile, inside it, or around it while the participant speaks
    id_attr: str | None = None  # a stable participant id, where the platform has one
    watch_attrs: tuple[str, ...] = ("class",)


@dataclass(frozen=True)
class PlatformUi:
    platform: str
    people: People
    name_input: str
    join_button: str
    admitted: tuple[str, ...]  # present only once the bot is in the call
    leave_button: str
    lobby: tuple[str, ...] = ()
    lobby_text: tuple[str, ...] = ()
    rejected_text: tuple[str, ...] = ()
    removed_text: tuple[str, ...] = ()
    ended_text: tuple[str, ...] = ()
    before_name: tuple[str, ...] = ()  # clicked when they show up before the name field
    before_join: tuple[str, ...] = ()  # clicked when they show up before asking to join
    mic_on: str | None = None  # a control present while the mic is on: click to turn it off
    camera_on: str | None = None
    leave_confirm: str | None = None
    open_url: Callable[[JoinTarget], str] = field(default=lambda t: t.url)

    def page_config(self, bot_name: str) -> dict[str, Any]:
        """The part of the in-page observer's configuration that comes from the platform."""
        return {
            "self_name": bot_name,
            "people": {"tile": self.people.tile, "name": self.people.name,
                       "speaking": self.people.speaking, "id_attr": self.people.id_attr,
                       "watch_attrs": list(self.people.watch_attrs)},
            "state": {"admitted": list(self.admitted), "lobby": list(self.lobby),
                      "lobby_text": list(self.lobby_text), "rejected_text": list(self.rejected_text),
                      "removed_text": list(self.removed_text), "ended_text": list(self.ended_text)},
        }


def ui_for(platform: str) -> PlatformUi:
    from stenograph.capture.bots.platforms import meet, teams, zoom

    uis = {"google_meet": meet.UI, "teams": teams.UI, "zoom": zoom.UI}
    return uis[platform]
