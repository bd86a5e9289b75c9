"""The WhisperLive protocol, pure: handshake, audio conversion, side messages, replies."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stenograph.capture.whisperlive import protocol as wl
from stenograph.capture.whisperlive.gateway import presented_key
from stenograph.capture.whisperlive.side import side_events
from stenograph.schemas.events import BotState, BotStatusChanged, SpeakerActivity

STOCK = {  # what whisper_live.client.Client sends
    "uid": "6f1c", "language": None, "task": "transcribe", "model": "small", "use_vad": True,
    "send_last_n_segments": 10, "no_speech_thresh": 0.45, "clip_audio": False,
    "same_output_threshold": 10, "enable_translation": False, "target_language": "fr",
    "hotwords": None, "enable_diarization": False, "max_speakers": 10, "known_speakers": [],
    "word_timestamps": False, "initial_prompt": None, "vad_parameters": None,
}
VEXA = {  # what Vexa's bot sends
    "uid": "b0t", "language": "de", "task": "translate", "model": None, "use_vad": False,
    "platform": "google_meet", "token": "stg_x", "meeting_id": 42, "meeting_url": "https://meet.google.com/a",
}


def test_the_stock_clients_handshake_parses_with_defaults() -> None:
    hs = wl.parse_handshake(json.dumps(STOCK))
    assert (hs.uid, hs.language, hs.task, hs.audio_format, hs.send_last_n_segments) == (
        "6f1c", None, "transcribe", "float32", 10)
    assert hs.meeting_ref() == (wl.SOURCE_PLATFORM, "6f1c")


def test_vexas_handshake_names_its_meeting_and_key() -> None:
    hs = wl.parse_handshake(json.dumps(VEXA))
    assert (hs.language, hs.task, hs.token) == ("de", "translate", "stg_x")
    assert hs.meeting_ref() == ("google_meet", "42")


@pytest.mark.parametrize(("message", "why"), [
    (b"\x00\x01", "not audio"),
    ("{not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"language": "en"}), "uid"),
    (json.dumps({**STOCK, "task": "dance"}), "task"),
    (json.dumps({**STOCK, "audio_format": "mp3"}), "audio_format"),
    (json.dumps({**STOCK, "language": "english!"}), "language"),
    (json.dumps({**STOCK, "platform": "webex"}), "platform"),
    (json.dumps({**STOCK, "send_last_n_segments": 0}), "send_last_n_segments"),
])
def test_a_bad_handshake_is_refused_with_the_field_named(message: str | bytes, why: str) -> None:
    with pytest.raises(wl.ProtocolError, match=why):
        wl.parse_handshake(message)


def test_float32_becomes_clipped_pcm16() -> None:
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0], dtype="<f4")
    pcm = np.frombuffer(wl.to_pcm16(samples.tobytes(), "float32"), dtype="<i2")
    assert pcm.tolist() == [0, 16384, -16384, 32767, -32767, 32767]


def test_int16_passes_through_and_uint8_is_centred() -> None:
    data = np.array([1, -2, 300], dtype="<i2").tobytes()
    assert wl.to_pcm16(data, "int16") == data
    assert np.frombuffer(wl.to_pcm16(bytes([128, 255, 0]), "uint8"), dtype="<i2").tolist() == [
        0, 32511, -32767]


@pytest.mark.parametrize(("size", "fmt"), [(6, "float32"), (3, "int16")])
def test_frames_of_odd_size_are_refused_whole(size: int, fmt: str) -> None:
    with pytest.raises(wl.ProtocolError, match=f"{size} bytes is not a whole number of {fmt}"):
        wl.to_pcm16(bytes(size), fmt)


def test_nan_audio_is_refused() -> None:
    with pytest.raises(wl.ProtocolError, match="NaN"):
        wl.to_pcm16(np.array([0.1, np.nan], dtype="<f4").tobytes(), "float32")


def test_replies_carry_the_uid_in_whisperlives_shapes() -> None:
    assert json.loads(wl.server_ready("u")) == {"uid": "u", "message": "SERVER_READY",
                                                "backend": "faster_whisper"}
    assert json.loads(wl.disconnect("u")) == {"uid": "u", "message": "DISCONNECT"}
    assert json.loads(wl.error("u", "bad")) == {"uid": "u", "status": "ERROR", "message": "bad"}
    assert json.loads(wl.wait("u", 1.5)) == {"uid": "u", "status": "WAIT", "message": 1.5}
    assert json.loads(wl.language_detected("u", "en", 0.9)) == {"uid": "u", "language": "en",
                                                                "language_prob": 0.9}


def test_the_key_comes_from_handshake_then_query_then_header() -> None:
    hs = wl.parse_handshake(json.dumps(STOCK))
    assert presented_key(hs, "/?token=q", "Bearer h") == "q"
    assert presented_key(hs, "/", "Bearer h") == "h"
    assert presented_key(hs, "/", "raw") == "raw"
    assert presented_key(hs, "/", None) is None
    with_token = wl.parse_handshake(json.dumps({**STOCK, "token": "t"}))
    assert presented_key(with_token, "/?token=q", "Bearer h") == "t"


SIDE = {"tenant_id": "t", "meeting_id": "m", "session_id": "s", "session_started_at_ns": 10**18,
        "platform": "google_meet", "native_meeting_id": "abc"}


def test_speaker_activity_becomes_a_lifecycle_event_on_the_audio_clock() -> None:
    message = wl.parse_side_message(json.dumps({"type": "speaker_activity", "payload": {
        "event_type": "SPEAKER_START", "participant_name": "Ann", "participant_id_meet": "p7",
        "relative_client_timestamp_ms": 1500.5}}))
    (event,) = side_events(message, **SIDE)
    assert isinstance(event, SpeakerActivity)
    assert (event.participant_id, event.name, event.speaking) == ("p7", "Ann", True)
    assert event.at_ns == 10**18 + 1_500_500_000


def test_session_control_leaving_becomes_a_status_change() -> None:
    message = wl.parse_side_message(json.dumps({"type": "session_control",
                                                "payload": {"event": "LEAVING_MEETING"}}))
    (event,) = side_events(message, **SIDE)
    assert isinstance(event, BotStatusChanged)
    assert (event.state, event.reason, event.sub_code) == (BotState.LEAVING, "client_leaving",
                                                           "leaving_meeting")


def test_chunk_metadata_is_accepted_and_checks_the_rate() -> None:
    ok = wl.parse_side_message(json.dumps({"type": "audio_chunk_metadata", "payload": {
        "length": 4096, "sample_rate": 16000, "client_timestamp_ms": 1}}))
    assert side_events(ok, **SIDE) == []
    wrong = wl.parse_side_message(json.dumps({"type": "audio_chunk_metadata",
                                              "payload": {"sample_rate": 48000}}))
    with pytest.raises(wl.ProtocolError, match=r"audio_chunk_metadata\.sample_rate"):
        side_events(wrong, **SIDE)


@pytest.mark.parametrize(("message", "why"), [
    ("hello", "not JSON"),
    (json.dumps({"type": "chat"}), "unknown message type 'chat'"),
    (json.dumps({"type": "speaker_activity", "payload": []}), "payload must be a JSON object"),
])
def test_bad_side_messages_are_named(message: str, why: str) -> None:
    with pytest.raises(wl.ProtocolError, match=why):
        wl.parse_side_message(message)


def test_a_side_message_with_a_bad_field_names_it() -> None:
    message = wl.parse_side_message(json.dumps({"type": "speaker_activity", "payload": {
        "event_type": "SPEAKER_START", "participant_name": "Ann"}}))
    with pytest.raises(wl.ProtocolError, match=r"speaker_activity\.relative_client_timestamp_ms"):
        side_events(message, **SIDE)
