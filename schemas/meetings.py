"""The domain's meeting words, once: platforms, tasks, native ids and `PLATFORM/NATIVE_ID` references."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    GOOGLE_MEET = "google_meet"
    TEAMS = "teams"
    ZOOM = "zoom"


class Task(StrEnum):
    TRANSCRIBE = "transcribe"
    TRANSLATE = "translate"


PLATFORMS = tuple(str(p) for p in Platform)
NATIVE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class MeetingRef:
    platform: str
    native_meeting_id: str

    def __str__(self) -> str:
        return f"{self.platform}/{self.native_meeting_id}"


def parse_meeting_ref(text: str) -> MeetingRef:
    """`google_meet/abc-defg-hij` -> MeetingRef; ValueError with the reason otherwise."""
    platform, sep, native = text.partition("/")
    if not sep:
        raise ValueError(f"{text!r}: expected PLATFORM/NATIVE_ID")
    if platform not in PLATFORMS:
        raise ValueError(f"{platform!r}: platform must be one of {', '.join(PLATFORMS)}")
    if not NATIVE_ID.fullmatch(native):
        raise ValueError(f"{native!r}: native meeting id must be 1-128 of A-Z a-z 0-9 . _ -")
    return MeetingRef(platform, native)
