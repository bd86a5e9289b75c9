"""Meeting links: each platform's own hosts over https only, parsed before any navigation."""

from __future__ import annotations

import pytest

from stenograph.schemas.meeting_urls import JoinTarget, MeetingUrlError, meeting_target, parse_meeting_url


@pytest.mark.parametrize(("url", "target"), [
    ("https://meet.google.com/abc-defg-hij", JoinTarget("google_meet", "abc-defg-hij",
                                                        "https://meet.google.com/abc-defg-hij")),
    ("https://meet.google.com/ABC-defg-hij/?authuser=0", JoinTarget(
        "google_meet", "abc-defg-hij", "https://meet.google.com/abc-defg-hij")),
    ("https://zoom.us/j/85173157171?pwd=aBc.123", JoinTarget(
        "zoom", "85173157171", "https://zoom.us/j/85173157171?pwd=aBc.123", "aBc.123")),
    ("https://us05web.zoom.us/j/851731571", JoinTarget("zoom", "851731571", "https://zoom.us/j/851731571")),
    ("https://zoom.us/wc/join/85173157171", JoinTarget("zoom", "85173157171",
                                                       "https://zoom.us/j/85173157171")),
    ("https://teams.microsoft.com/meet/9387167464734?p=qxJanYOcdjN4d6UlGa", JoinTarget(
        "teams", "9387167464734", "https://teams.microsoft.com/meet/9387167464734?p=qxJanYOcdjN4d6UlGa",
        "qxJanYOcdjN4d6UlGa")),
    ("https://teams.live.com/meet/9387167464734?p=abc", JoinTarget(
        "teams", "9387167464734", "https://teams.live.com/meet/9387167464734?p=abc", "abc")),
])
def test_platform_links_parse(url: str, target: JoinTarget) -> None:
    assert parse_meeting_url(url) == target


def test_a_teams_meetup_join_link_keeps_its_thread() -> None:
    url = ("https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjkxOTI3YmEtZDQ4Mi00ZTgx%40thread.v2/0"
           "?context=%7b%22Tid%22%3a%22x%22%7d")
    target = parse_meeting_url(url)
    assert (target.platform, target.native_meeting_id) == ("teams", "meeting_NjkxOTI3YmEtZDQ4Mi00ZTgx")
    assert target.url.startswith("https://teams.microsoft.com/l/meetup-join/19%3Ameeting_")


@pytest.mark.parametrize(("url", "why"), [
    ("http://meet.google.com/abc-defg-hij", "https"),
    ("https://meet.google.com.evil.example/abc-defg-hij", "not a Google Meet, Teams or Zoom host"),
    ("https://evil.example/meet.google.com/abc-defg-hij", "not a Google Meet"),
    ("https://user:pw@meet.google.com/abc-defg-hij", "credentials"),
    ("https://meet.google.com:8443/abc-defg-hij", "port"),
    ("https://142.250.74.46/abc-defg-hij", "IP address"),
    ("https://[2a00:1450::1]/abc-defg-hij", "IP address"),
    ("https://meet.google.com/not-a-code", "abc-defg-hij"),
    ("https://zoom.us/j/12", "9-11 digits"),
    ("https://zoom.us/j/85173157171?pwd=<script>", "pwd"),
    ("https://evilzoom.us/j/85173157171", "not a Google Meet"),
    ("https://teams.microsoft.com/l/chat/19:abc", "Teams link"),
    ("javascript:alert(1)", "https"),
    ("", "https"),
])
def test_anything_else_is_refused_before_navigation(url: str, why: str) -> None:
    with pytest.raises(MeetingUrlError, match=why):
        parse_meeting_url(url)


def test_native_ids_become_links_and_teams_needs_its_passcode() -> None:
    assert meeting_target("zoom", "85173157171", "x1").url == "https://zoom.us/j/85173157171?pwd=x1"
    assert meeting_target("google_meet", "abc-defg-hij").url == "https://meet.google.com/abc-defg-hij"
    with pytest.raises(MeetingUrlError, match="passcode"):
        meeting_target("teams", "9387167464734")
    with pytest.raises(MeetingUrlError, match="9-11 digits"):
        meeting_target("zoom", "abc")
    with pytest.raises(MeetingUrlError, match="platform"):
        meeting_target("skype", "1")
