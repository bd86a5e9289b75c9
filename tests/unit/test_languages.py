"""Languages are checked against Whisper's own list at every entry: the API's request bodies,
the gateway's handshake, `stenograph join`, and the transcriber (tests/integration/test_language.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stenograph.api.models import BotConfig, BotRequest
from stenograph.capture.whisperlive.protocol import ProtocolError, parse_handshake
from stenograph.cli.bots import join_request
from stenograph.schemas import language_problem, whisper_languages

BAD = ["zz", "en-US", "deu", "EN", "english", "", "xx"]


def test_the_list_is_whispers() -> None:
    assert {"en", "de", "fr", "ja", "yue", "haw"} <= whisper_languages()
    assert language_problem("de") is None and language_problem("de", "base") is None
    assert "English-only" in (language_problem("de", "tiny.en") or "")
    assert language_problem("en", "tiny.en") is None


@pytest.mark.parametrize("language", BAD)
def test_the_api_refuses_a_language_whisper_does_not_know(language: str) -> None:
    with pytest.raises(ValidationError) as info:
        BotRequest(platform="zoom", native_meeting_id="85173157171", language=language)
    assert info.value.errors()[0]["loc"] == ("language",)
    with pytest.raises(ValidationError):
        BotConfig(language=language)
    assert BotConfig(language="de").language == "de"


@pytest.mark.parametrize("language", [x for x in BAD if x])  # "" means detect, as in WhisperLive
def test_the_gateway_refuses_it_in_the_handshake(language: str) -> None:
    with pytest.raises(ProtocolError, match="language"):
        parse_handshake(f'{{"uid": "u1", "language": "{language}"}}')
    assert parse_handshake('{"uid": "u1", "language": "de"}').language == "de"


@pytest.mark.parametrize("language", BAD)
def test_join_refuses_it(language: str) -> None:
    with pytest.raises(ValueError, match="--language"):
        join_request("https://zoom.us/j/85173157171", "local", "bot", language, {})
