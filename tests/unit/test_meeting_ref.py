"""capture/meeting_ref.py: PLATFORM/NATIVE_ID parsing."""

from __future__ import annotations

import pytest

from stenograph.schemas.meetings import PLATFORMS, MeetingRef, parse_meeting_ref


@pytest.mark.parametrize(
    ("text", "platform", "native"),
    [
        ("google_meet/abc-defg-hij", "google_meet", "abc-defg-hij"),
        ("teams/19.meeting_ABC-123", "teams", "19.meeting_ABC-123"),
        ("zoom/85012345678", "zoom", "85012345678"),
        ("zoom/a", "zoom", "a"),
        ("zoom/" + "a" * 128, "zoom", "a" * 128),
    ],
)
def test_valid_refs(text: str, platform: str, native: str) -> None:
    ref = parse_meeting_ref(text)
    assert ref == MeetingRef(platform, native)
    assert str(ref) == text


def test_every_platform_accepted() -> None:
    for platform in PLATFORMS:
        assert parse_meeting_ref(f"{platform}/x1").platform == platform


@pytest.mark.parametrize("text", ["", "google_meet", "abc-defg-hij", "zoom:123"])
def test_missing_separator(text: str) -> None:
    with pytest.raises(ValueError, match="expected PLATFORM/NATIVE_ID") as info:
        parse_meeting_ref(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ["webex/123", "Zoom/123", "/123", "google-meet/abc", " zoom/123"])
def test_unknown_platform(text: str) -> None:
    with pytest.raises(ValueError, match="platform must be one of google_meet, teams, zoom") as info:
        parse_meeting_ref(text)
    assert repr(text.partition("/")[0]) in str(info.value)


@pytest.mark.parametrize(
    "native",
    ["", "-abc", ".abc", "_abc", "abc def", "abc/def", "abc?x=1", "ábc", "a" * 129, "abc ", "a\tb"],
)
def test_invalid_native_id(native: str) -> None:
    with pytest.raises(ValueError, match="native meeting id must be 1-128") as info:
        parse_meeting_ref(f"zoom/{native}")
    assert repr(native) in str(info.value)


def test_trailing_newline_is_not_part_of_an_id() -> None:
    with pytest.raises(ValueError):
        parse_meeting_ref("zoom/abc\n")
