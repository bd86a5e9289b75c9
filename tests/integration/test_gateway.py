"""The WhisperLive gateway against the real pipeline: stock client, keys, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from stenograph.capture.decode import decode_to_pcm16
from stenograph.schemas.events import AudioFrame, BotStatusChanged, SpeakerActivity
from stenograph.schemas.topics import AUDIO, LIFECYCLE
from tests.support import DATA, Pipeline, end_offsets, free_port, opened_frames, read_events, words

pytestmark = pytest.mark.integration

JFK_TEXT = (DATA / "jfk.txt").read_text()


@dataclass(frozen=True)
class Gateways:
    trusted: str  # serves clients without a key as tenant "local"; at most 4 streams
    keyed: str  # API keys only; ends a stream after 3 s without a message


@pytest.fixture(scope="module")
def gateways(pipeline: Pipeline) -> Iterator[Gateways]:
    trusted, keyed = free_port(), free_port()
    pipeline.start("gateway", env={
        "STENOGRAPH_GATEWAY_PORT": str(trusted), "STENOGRAPH_GATEWAY_TENANT": "local",
        "STENOGRAPH_GATEWAY_MAX_CONNECTIONS": "4",
    })
    pipeline.start("gateway-keyed", command="gateway", env={
        "STENOGRAPH_GATEWAY_PORT": str(keyed), "STENOGRAPH_GATEWAY_IDLE_TIMEOUT_S": "3"})
    try:
        yield Gateways(f"ws://127.0.0.1:{trusted}", f"ws://127.0.0.1:{keyed}")
    finally:
        for name in ("gateway", "gateway-keyed"):
            pipeline.procs.pop(name).stop()


def handshake(uid: str | None = None, **fields: Any) -> str:
    return json.dumps({"uid": uid or uuid.uuid4().hex, "language": None, "task": "transcribe",
                       "model": "tiny.en", "use_vad": False, **fields})


def replies(ws: ClientConnection, until: float = 60) -> Iterator[dict[str, Any]]:
    """Messages until the server closes (or `until` seconds pass)."""
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        try:
            yield json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except (ConnectionClosed, TimeoutError):
            return


def float32(pcm16: bytes) -> bytes:
    return (np.frombuffer(pcm16, dtype="<i2").astype("<f4") / 32768.0).tobytes()


def completed_text(messages: list[dict[str, Any]]) -> str:
    """The completed segments a client ends with, by start time (resent ones counted once)."""
    done: dict[str, str] = {}
    for m in messages:
        for s in m.get("segments", []):
            if s["completed"]:
                done[s["start"]] = s["text"]
    return " ".join(done[k] for k in sorted(done, key=float))


def meeting_of(pipeline: Pipeline, uid: str) -> tuple[str, list[Any]]:
    """The meeting a stream became (by its uid as native id) and its lifecycle events."""
    import asyncio

    events = asyncio.run(read_events(pipeline.infra.bootstrap, pipeline.topic(LIFECYCLE), LIFECYCLE))
    mine = [e for e in events if isinstance(e, BotStatusChanged) and e.native_meeting_id == uid]
    assert mine, f"no lifecycle events for stream {uid}"
    meeting = mine[0].meeting_id
    return meeting, [e for e in events if e.meeting_id == meeting]


def frames_of(pipeline: Pipeline, meeting: str) -> list[AudioFrame]:
    """The meeting's frames, opened, in seq order."""
    import asyncio

    return asyncio.run(opened_frames(pipeline.infra.bootstrap, pipeline.prefix, meeting))


def test_the_stock_whisper_live_client_gets_the_transcript(
    pipeline: Pipeline, gateways: Gateways, tmp_path: Path
) -> None:
    port = gateways.trusted.rsplit(":", 1)[1]
    proc = subprocess.run(
        [sys.executable, "-m", "tests.whisperlive_client", str(DATA / "jfk.flac"), "127.0.0.1", port],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["backend"] == "faster_whisper" and not result["server_error"]
    assert result["language"] == "en"  # the detection message reached the client
    text = " ".join(s["text"] for s in result["transcript"])
    wer = jiwer.wer(" ".join(words(JFK_TEXT)), " ".join(words(text)))
    assert wer <= 0.15, (wer, text)
    assert (tmp_path / "out.srt").read_text().count("country") == 2  # no repeated lines


def test_end_of_audio_brings_the_last_words_then_disconnect(pipeline: Pipeline, gateways: Gateways) -> None:
    pcm = decode_to_pcm16(DATA / "jfk.flac")
    uid = uuid.uuid4().hex
    with connect(gateways.trusted) as ws:
        ws.send(handshake(uid, audio_format="int16", send_last_n_segments=50))
        assert json.loads(ws.recv(timeout=10))["message"] == "SERVER_READY"
        for i in range(0, len(pcm), 8192):  # odd-sized pieces: the gateway cuts its own frames
            ws.send(pcm[i : i + 8192])
        ws.send(b"END_OF_AUDIO")
        messages = list(replies(ws, until=90))
    assert messages[-1] == {"uid": uid, "message": "DISCONNECT"}
    assert all(m["uid"] == uid for m in messages)
    wer = jiwer.wer(" ".join(words(JFK_TEXT)), " ".join(words(completed_text(messages))))
    assert wer <= 0.15, (wer, completed_text(messages))
    meeting, events = meeting_of(pipeline, uid)
    states = [(e.state, e.reason) for e in events if isinstance(e, BotStatusChanged)]
    assert states == [("active", "stream_started"), ("completed", "end_of_audio")]
    frames = frames_of(pipeline, meeting)
    assert [f.seq for f in frames] == list(range(len(frames))) and frames[-1].last
    assert sum(len(f.payload) for f in frames) >= len(pcm)  # every byte, tail padded


def test_keys_are_taken_from_handshake_query_or_header_and_revoked_keys_refused(
    pipeline: Pipeline, gateways: Gateways
) -> None:
    made = pipeline.cli("key", "create", "--tenant", "acme", check=True)
    key = made.stdout.strip()
    pipeline.minted.append(key)  # no log may have it (the session's end checks)
    assert key.startswith("stg_") and key not in made.stderr
    for url, extra, headers in [
        (gateways.keyed, {"token": key}, None),
        (f"{gateways.keyed}/?token={key}", {}, None),
        (gateways.keyed, {}, {"Authorization": f"Bearer {key}"}),
    ]:
        with connect(url, additional_headers=headers) as ws:
            ws.send(handshake(**extra))
            assert json.loads(ws.recv(timeout=10))["message"] == "SERVER_READY"
            ws.send(b"END_OF_AUDIO")
            assert list(replies(ws))[-1]["message"] == "DISCONNECT"
    key_id = key.split("_")[1]
    assert pipeline.cli("key", "revoke", key_id, "--tenant", "acme").returncode == 0
    with connect(gateways.keyed) as ws:
        ws.send(handshake(token=key))
        reply = json.loads(ws.recv(timeout=10))
        assert reply["status"] == "ERROR" and "unknown or revoked" in reply["message"]
    bad = pipeline.cli("key", "revoke", "nope", "--tenant", "acme")
    assert bad.returncode == 2 and "12 hex digits" in bad.stderr


@pytest.mark.parametrize(("token", "why"), [
    (None, "an API key is required"),
    ("stg_000000000000_" + "A" * 32, "unknown or revoked API key"),
    ("not-a-key", "unknown or revoked API key"),
])
def test_an_unknown_key_is_refused_before_any_audio(
    pipeline: Pipeline, gateways: Gateways, token: str | None, why: str
) -> None:
    import asyncio

    before = asyncio.run(end_offsets(pipeline.infra.bootstrap, pipeline.topic(AUDIO)))
    with connect(gateways.keyed) as ws:
        ws.send(handshake(**({"token": token} if token else {})))
        reply = json.loads(ws.recv(timeout=10))
        assert reply["status"] == "ERROR" and reply["message"] == f"unauthorized: {why}"
        with pytest.raises(ConnectionClosed):
            ws.send(bytes(4096))
            ws.recv(timeout=5)
        assert ws.close_code == 1008
    assert asyncio.run(end_offsets(pipeline.infra.bootstrap, pipeline.topic(AUDIO))) == before


@pytest.mark.parametrize(("first", "why"), [
    ("{this is not json", "handshake is not JSON"),
    (b"\x00\x00\x80\x3f", "must be the JSON handshake, not audio"),
    (handshake(task="dance"), "task"),
    (handshake(audio_format="mp3"), "audio_format"),
])
def test_a_malformed_handshake_gets_an_error_and_a_close(
    gateways: Gateways, first: str | bytes, why: str
) -> None:
    with connect(gateways.trusted) as ws:
        ws.send(first)
        reply = json.loads(ws.recv(timeout=10))
        assert reply["status"] == "ERROR" and why in reply["message"], reply
        assert list(replies(ws, until=5)) == []
        assert ws.close_code == 1003


def test_a_frame_of_odd_size_ends_the_stream_without_losing_what_came_before(
    pipeline: Pipeline, gateways: Gateways
) -> None:
    uid = uuid.uuid4().hex
    audio = float32(decode_to_pcm16(DATA / "jfk.flac")[: 32000])  # one second
    with connect(gateways.trusted) as ws:
        ws.send(handshake(uid))
        assert json.loads(ws.recv(timeout=10))["message"] == "SERVER_READY"
        ws.send(audio)
        ws.send(bytes(6))
        messages = list(replies(ws))
    errors = [m for m in messages if m.get("status") == "ERROR"]
    assert errors and "6 bytes is not a whole number of float32 samples" in errors[0]["message"]
    assert messages[-1]["message"] == "DISCONNECT"
    meeting, events = meeting_of(pipeline, uid)
    assert [(e.state, e.reason) for e in events if isinstance(e, BotStatusChanged)][-1] == (
        "failed", "bad_audio")
    frames = frames_of(pipeline, meeting)
    assert len(frames) == 11 and frames[-1].last  # ten full frames, then the (empty) tail


def test_a_silent_client_is_ended_cleanly_and_its_audio_kept(pipeline: Pipeline, gateways: Gateways) -> None:
    uid = uuid.uuid4().hex
    key = pipeline.cli("key", "create", "--tenant", "local", check=True).stdout.strip()
    pipeline.minted.append(key)
    with connect(gateways.keyed) as ws:
        ws.send(handshake(uid, token=key))
        assert json.loads(ws.recv(timeout=10))["message"] == "SERVER_READY"
        ws.send(float32(decode_to_pcm16(DATA / "jfk.flac")[:16000]))  # half a second, then nothing
        t0 = time.monotonic()
        messages = list(replies(ws, until=30))
        assert ws.close_code == 1000
    assert messages[-1]["message"] == "DISCONNECT" and time.monotonic() - t0 >= 3
    meeting, events = meeting_of(pipeline, uid)
    assert [(e.state, e.reason) for e in events if isinstance(e, BotStatusChanged)][-1] == (
        "completed", "client_silent")
    frames = frames_of(pipeline, meeting)
    assert len(frames) == 6 and frames[-1].last


def test_over_capacity_a_client_is_told_to_wait(gateways: Gateways) -> None:
    with ExitStack() as stack:
        streams = [stack.enter_context(connect(gateways.trusted)) for _ in range(4)]
        for ws in streams:
            ws.send(handshake())
            assert json.loads(ws.recv(timeout=10))["message"] == "SERVER_READY"
        with connect(gateways.trusted) as extra:
            uid = uuid.uuid4().hex
            extra.send(handshake(uid))
            reply = json.loads(extra.recv(timeout=10))
            assert reply["uid"] == uid and reply["status"] == "WAIT" and reply["message"] > 0
            assert list(replies(extra, until=5)) == [] and extra.close_code == 1013
        for ws in streams:
            ws.send(b"END_OF_AUDIO")
            assert list(replies(ws, until=30))[-1]["message"] == "DISCONNECT"


def test_vexa_side_messages_become_lifecycle_events(pipeline: Pipeline, gateways: Gateways) -> None:
    native = f"abc-{uuid.uuid4().hex[:8]}"
    with connect(gateways.trusted) as ws:
        ws.send(handshake(platform="google_meet", meeting_id=native, language="en"))
        assert json.loads(ws.recv(timeout=10))["message"] == "SERVER_READY"
        ws.send(json.dumps({"type": "audio_chunk_metadata",
                            "payload": {"length": 4096, "sample_rate": 16000, "client_timestamp_ms": 1}}))
        ws.send(json.dumps({"type": "speaker_activity", "payload": {
            "event_type": "SPEAKER_START", "participant_name": "Ann", "participant_id_meet": "p1",
            "relative_client_timestamp_ms": 250}}))
        ws.send(json.dumps({"type": "speaker_activity", "payload": {"event_type": "SPEAKER_MAYBE"}}))
        warning = json.loads(ws.recv(timeout=10))
        assert warning["status"] == "WARNING" and "event_type" in warning["message"]
        ws.send(float32(bytes(32000)))  # the stream goes on after a bad side message
        ws.send(json.dumps({"type": "session_control", "payload": {"event": "LEAVING_MEETING"}}))
        ws.send(b"END_OF_AUDIO")
        assert list(replies(ws))[-1]["message"] == "DISCONNECT"
    meeting, events = meeting_of(pipeline, native)
    speaking = [e for e in events if isinstance(e, SpeakerActivity)]
    assert [(e.participant_id, e.name, e.speaking) for e in speaking] == [("p1", "Ann", True)]
    states = [(e.state, e.reason) for e in events if isinstance(e, BotStatusChanged)]
    assert states == [("active", "stream_started"), ("leaving", "client_leaving"),
                      ("completed", "end_of_audio")]
    assert len(frames_of(pipeline, meeting)) == 11


async def test_the_stream_is_a_meeting_in_the_api(pipeline: Pipeline, gateways: Gateways) -> None:
    uid = uuid.uuid4().hex
    with connect(gateways.trusted) as ws:
        ws.send(handshake(uid))
        assert json.loads(ws.recv(timeout=10))["message"] == "SERVER_READY"
        ws.send(b"END_OF_AUDIO")
        assert list(replies(ws))[-1]["message"] == "DISCONNECT"
    await pipeline.idle()
    async with pipeline.client() as client:
        meetings = (await client.get("/meetings")).json()["meetings"]
    mine = [m for m in meetings if m["native_meeting_id"] == uid]
    assert [(m["platform"], m["status"]) for m in mine] == [("whisperlive", "completed")]
