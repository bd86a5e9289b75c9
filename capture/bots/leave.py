"""Automatic leave: when a bot gives up waiting or leaves a meeting on its own. Pure.

Each rule is a setting with a documented default and can be set per JoinRequested
(`automatic_leave`, milliseconds). Each ends the bot with its own reason code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from stenograph.capture.bots.states import Happening

# milliseconds, as JoinRequested.automatic_leave carries them
DEFAULTS_MS: dict[str, int] = {
    "waiting_room_timeout": 10 * 60_000,  # from launch until admitted
    "no_one_joined_timeout": 10 * 60_000,  # admitted, and no one else ever showed up
    "everyone_left_timeout": 60_000,  # everyone else has left, for this long
    "silence_timeout": 15 * 60_000,  # nothing audible in the call for this long
    "max_duration": 4 * 3_600_000,  # in the call at most this long
}


@dataclass(frozen=True)
class LeaveRules:
    waiting_room_timeout: float
    no_one_joined_timeout: float
    everyone_left_timeout: float
    silence_timeout: float
    max_duration: float  # all in seconds

    @classmethod
    def from_request(cls, automatic_leave: Mapping[str, int]) -> LeaveRules:
        unknown = sorted(set(automatic_leave) - set(DEFAULTS_MS))
        if unknown:
            raise ValueError(f"unknown automatic_leave settings: {', '.join(unknown)}; "
                             f"known: {', '.join(DEFAULTS_MS)}")
        merged = {**DEFAULTS_MS, **automatic_leave}
        return cls(**{f.name: merged[f.name] / 1000 for f in fields(cls)})


class LeaveWatch:
    """Feed it what the bot sees; it says when a rule has run out."""

    def __init__(self, rules: LeaveRules, launched_at: float) -> None:
        self.rules = rules
        self.launched_at = launched_at
        self.admitted_at: float | None = None
        self.anyone_seen = False
        self.alone_since: float | None = None
        self.last_audible: float | None = None

    def waiting(self, now: float) -> Happening | None:
        if now - self.launched_at >= self.rules.waiting_room_timeout:
            return Happening.ADMISSION_TIMEOUT
        return None

    def admitted(self, now: float) -> None:
        self.admitted_at = now
        self.last_audible = now
        self.alone_since = now

    def in_call(self, now: float, others: int, audible: bool) -> Happening | None:
        assert self.admitted_at is not None, "in_call before admitted"
        if audible:
            self.last_audible = now
        if others > 0:
            self.anyone_seen = True
            self.alone_since = None
        elif self.alone_since is None:
            self.alone_since = now
        r = self.rules
        if now - self.admitted_at >= r.max_duration:
            return Happening.MAX_DURATION
        if self.alone_since is not None:
            if not self.anyone_seen and now - self.alone_since >= r.no_one_joined_timeout:
                return Happening.NO_ONE_JOINED
            if self.anyone_seen and now - self.alone_since >= r.everyone_left_timeout:
                return Happening.LEFT_ALONE
        if self.last_audible is not None and now - self.last_audible >= r.silence_timeout:
            return Happening.SILENCE
        return None
