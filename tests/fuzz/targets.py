"""What the pure parsers may do with any input: return, or refuse it with their own error.

Each check takes raw bytes (atheris's input, or a kept regression) and raises only when a parser
does something else: another exception, or a result that does not survive its own round trip.
`make fuzz` drives them with atheris (tests/fuzz/run.py); tests/unit/test_fuzz_regressions.py
replays every input ever found, in `make test`.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fastavro import json_reader, schemaless_writer

from stenograph.capture.bots.bridge import parse_chunk
from stenograph.capture.whisperlive.protocol import (
    SAMPLE_WIDTH,
    SOURCE_PLATFORM,
    ProtocolError,
    parse_handshake,
    parse_side_message,
    to_pcm16,
)
from stenograph.schemas import NATIVE_ID, PLATFORMS, CodecError
from stenograph.schemas.codec import codec, parsed_schema
from stenograph.schemas.meeting_urls import MeetingUrlError, parse_meeting_url
from stenograph.schemas.meetings import parse_meeting_ref
from stenograph.schemas.topics import REGISTRY

BASES = sorted(REGISTRY)
FORMATS = sorted(SAMPLE_WIDTH)
EXAMPLES = Path(str(resources.files("stenograph.schemas") / "examples"))


def check_codec(data: bytes) -> None:
    """First byte: which topic's codec; the rest: the message. What decodes re-encodes to bytes
    that decode to the same event."""
    if not data:
        return
    c = codec(BASES[data[0] % len(BASES)])
    try:
        event = c.decode(data[1:])
    except CodecError:
        return
    encoded = c.encode(event)
    if c.encode(c.decode(encoded)) != encoded:
        raise AssertionError(f"{type(event).__name__} does not survive its round trip")


def _text(data: bytes) -> str | None:
    """A WebSocket text frame is UTF-8 by the protocol (websockets refuses others before us)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def check_handshake(data: bytes) -> None:
    if (text := _text(data)) is None:
        return
    try:
        handshake = parse_handshake(text)
    except ProtocolError:
        return
    platform, native = handshake.meeting_ref()  # what a handshake names is a meeting id we accept
    if platform not in (*PLATFORMS, SOURCE_PLATFORM) or not NATIVE_ID.fullmatch(native):
        raise AssertionError(f"handshake named meeting {platform}/{native}")


def check_side_message(data: bytes) -> None:
    if (text := _text(data)) is not None:
        with contextlib.suppress(ProtocolError):
            parse_side_message(text)


def check_audio_frame(data: bytes) -> None:
    """First byte: the handshake's audio format; the rest: one binary frame."""
    if not data:
        return
    fmt = FORMATS[data[0] % len(FORMATS)]
    try:
        pcm = to_pcm16(data[1:], fmt)
    except ProtocolError:
        return
    if len(pcm) != (len(data) - 1) // SAMPLE_WIDTH[fmt] * 2:
        raise AssertionError(f"{fmt}: {len(data) - 1} bytes became {len(pcm)} of PCM")


def check_bot_chunk(data: bytes) -> None:
    try:
        chunk = parse_chunk(data)
    except ValueError:
        return
    if len(chunk.pcm) % 2:
        raise AssertionError("odd PCM from the page")


def check_meeting_url(data: bytes) -> None:
    if (text := _text(data)) is None:
        return
    try:
        target = parse_meeting_url(text)
    except MeetingUrlError:
        return
    parse_meeting_ref(f"{target.platform}/{target.native_meeting_id}")


def check_meeting_ref(data: bytes) -> None:
    if (text := _text(data)) is None:
        return
    try:
        ref = parse_meeting_ref(text)
    except ValueError:
        return
    if parse_meeting_ref(str(ref)) != ref:
        raise AssertionError(f"{text!r} does not survive its round trip")


def _codec_seeds() -> list[bytes]:
    """Every golden example, encoded as its version's writer would."""
    seeds = []
    for path in sorted(EXAMPLES.glob("*/v*.json")):
        base, version = path.parent.name, int(path.name[1:].split(".")[0])
        writer = parsed_schema(base, version)
        line = json.dumps(json.loads(path.read_text()))  # the reader wants one record a line
        for record in json_reader(io.StringIO(line), writer):
            buf = io.BytesIO(bytes([BASES.index(base), version]))
            buf.seek(2)
            schemaless_writer(buf, writer, record)
            seeds.append(buf.getvalue())
    return seeds


@dataclass(frozen=True)
class Target:
    check: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]


TARGETS: dict[str, Target] = {
    "codec": Target(check_codec, _codec_seeds),
    "handshake": Target(check_handshake, lambda: [json.dumps(h).encode() for h in (
        {"uid": "u1", "language": "en", "task": "transcribe", "model": "tiny.en", "use_vad": True},
        {"uid": "u2", "platform": "google_meet", "meeting_id": "abc-defg-hij", "audio_format": "int16",
         "meeting_url": "https://meet.google.com/abc-defg-hij", "token": "t"},
    )]),
    "side-message": Target(check_side_message, lambda: [json.dumps(m).encode() for m in (
        {"type": "speaker_activity", "payload": {"speaker": "Ann", "active": True}},
        {"type": "session_control", "payload": {"event": "LEAVING_MEETING"}},
    )]),
    "audio-frame": Target(check_audio_frame, lambda: [
        bytes([FORMATS.index("float32")]) + b"\x00\x00\x80\x3f" * 4,
        bytes([FORMATS.index("int16")]) + b"\x01\x00" * 8,
        bytes([FORMATS.index("uint8")]) + b"\x80\x7f",
    ]),
    "bot-chunk": Target(check_bot_chunk, lambda: [b"\x00" * 8 + b"\x01\x00" * 4]),
    "meeting-url": Target(check_meeting_url, lambda: [u.encode() for u in (
        "https://meet.google.com/abc-defg-hij", "https://zoom.us/j/85173157171?pwd=aBc.123",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0",
    )]),
    "meeting-ref": Target(check_meeting_ref, lambda: [b"google_meet/abc-defg-hij", b"zoom/851731571"]),
}

REGRESSIONS = Path(__file__).parent / "regressions"
