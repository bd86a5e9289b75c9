"""Platform modules, the page bridge's message format and `stenograph join`'s request: pure."""

from __future__ import annotations

import struct

import pytest

from stenograph.capture.bots.bridge import parse_chunk
from stenograph.capture.bots.platforms import ui_for
from stenograph.cli.bots import join_request
from stenograph.schemas.meeting_urls import MeetingUrlError, check_native_id, meeting_target


@pytest.mark.parametrize("platform", ["google_meet", "teams", "zoom"])
def test_every_platform_has_its_flow_and_observer_selectors(platform: str) -> None:
    ui = ui_for(platform)
    config = ui.page_config("Bot")
    assert config["self_name"] == "Bot"
    assert config["people"]["tile"] and config["people"]["speaking"]
    assert config["state"]["admitted"] and config["state"]["ended_text"]
    assert ui.name_input and ui.join_button and ui.leave_button
    # a lobby must be told apart: by text, as the call's buttons are already there
    assert ui.lobby_text


def test_zoom_bots_open_the_web_client_rather_than_the_app_launcher() -> None:
    target = meeting_target("zoom", "1234567890", "s3cret")
    assert ui_for("zoom").open_url(target) == "https://app.zoom.us/wc/1234567890/join?pwd=s3cret"
    assert ui_for("google_meet").open_url(meeting_target("google_meet", "abc-defg-hij")) == \
        "https://meet.google.com/abc-defg-hij"


def test_page_audio_messages_are_checked() -> None:
    chunk = parse_chunk(struct.pack("<d", 1.5e12) + b"\x01\x00\x02\x00")
    assert chunk.at_ms == 1.5e12 and chunk.pcm == b"\x01\x00\x02\x00"
    for bad in (b"", b"\x00" * 7, struct.pack("<d", 1.0) + b"\x00"):
        with pytest.raises(ValueError):
            parse_chunk(bad)


def test_join_requests_from_links() -> None:
    target, request = join_request("https://zoom.us/j/1234567890?pwd=abc", "local", "Notes", "de", {})
    assert (request.platform, request.native_meeting_id, request.passcode, request.language) == \
        ("zoom", "1234567890", "abc", "de")
    assert target.platform == "zoom" and request.bot_name == "Notes"


@pytest.mark.parametrize("url", ["http://meet.google.com/abc-defg-hij", "https://evil.example/abc-defg-hij",
                                 "https://meet.google.com:8443/abc-defg-hij", "https://10.0.0.1/j/123456789"])
def test_join_refuses_links_before_anything_is_sent(url: str) -> None:
    with pytest.raises(MeetingUrlError):
        join_request(url, "local", "Notes", None, {})


def test_join_refuses_unknown_leave_settings() -> None:
    with pytest.raises(ValueError, match="unknown automatic_leave"):
        join_request("https://meet.google.com/abc-defg-hij", "local", "n", None, {"x": 1})


@pytest.mark.parametrize(("platform", "native", "ok"), [
    ("google_meet", "abc-defg-hij", True), ("google_meet", "abcdefghij", False),
    ("zoom", "1234567890", True), ("zoom", "12345", False), ("zoom", "12345678a0", False),
    ("teams", "123456789012", True), ("teams", "meeting_abc", False),
])
def test_native_ids_a_bot_can_join(platform: str, native: str, ok: bool) -> None:
    if ok:
        check_native_id(platform, native)
    else:
        with pytest.raises(MeetingUrlError):
            check_native_id(platform, native)
