"""The WhisperLive wire protocol as a pure module: handshake, audio, side messages, replies.

Clients send one JSON handshake, then binary audio frames (float32 at 16 kHz unless the
handshake says `audio_format`), JSON side messages in between (Vexa's bots), and finally
the bytes `END_OF_AUDIO`. Every reply carries the client's `uid`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stenograph.schemas import NATIVE_ID, PLATFORMS, StenographError, Task, language_problem

END_OF_AUDIO = b"END_OF_AUDIO"
BACKEND = "faster_whisper"  # what stock clients expect before they keep completed segments
SAMPLE_WIDTH = {"float32": 4, "int16": 2, "uint8": 1}
SOURCE_PLATFORM = "whisperlive"  # meetings whose client names no platform


class ProtocolError(StenographError):
    """Input that breaks the protocol; its message goes back to the client as an ERROR."""


class Handshake(BaseModel):
    """The first text frame. Unknown fields are ignored, as WhisperLive does."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    uid: str = Field(min_length=1, max_length=128)
    language: str | None = None
    task: Task = Task.TRANSCRIBE
    model: str | None = None
    use_vad: bool = True
    audio_format: Literal["float32", "int16", "uint8"] = "float32"
    platform: str | None = None
    meeting_id: str | int | None = None
    meeting_url: str | None = Field(default=None, max_length=2048)
    token: str | None = Field(default=None, max_length=4096)
    send_last_n_segments: int = Field(default=10, ge=1, le=1000)
    no_speech_thresh: float = Field(default=0.45, ge=0.0, le=1.0)
    same_output_threshold: int = Field(default=10, ge=0)
    initial_prompt: str | None = Field(default=None, max_length=4096)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if (problem := language_problem(value)) is not None:
            raise ValueError(f"{problem}, or null to detect")
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str | None) -> str | None:
        if value is not None and value not in PLATFORMS:
            raise ValueError(f"must be one of {', '.join(PLATFORMS)}")
        return value

    @property
    def sample_width(self) -> int:
        return SAMPLE_WIDTH[self.audio_format]

    def meeting_ref(self) -> tuple[str, str]:
        """(platform, native meeting id): the client's meeting, else the stream's own uid."""
        native = str(self.meeting_id) if self.meeting_id is not None else ""
        if self.platform and NATIVE_ID.fullmatch(native):
            return self.platform, native
        uid = re.sub(r"[^A-Za-z0-9._-]", "-", self.uid)[:128]
        return self.platform or SOURCE_PLATFORM, uid if NATIVE_ID.fullmatch(uid) else "stream"


def parse_handshake(message: str | bytes) -> Handshake:
    if isinstance(message, bytes):
        raise ProtocolError("the first message must be the JSON handshake, not audio")
    try:
        data = json.loads(message)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"handshake is not JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise ProtocolError("handshake must be a JSON object")
    try:
        return Handshake.model_validate(data)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'handshake'}: {e['msg']}" for e in exc.errors()
        )
        raise ProtocolError(f"invalid handshake: {fields}") from None


def to_pcm16(data: bytes, audio_format: str) -> bytes:
    """One binary frame as 16-bit little-endian PCM; odd-sized frames are refused whole."""
    width = SAMPLE_WIDTH[audio_format]
    if len(data) % width:
        raise ProtocolError(
            f"audio frame of {len(data)} bytes is not a whole number of {audio_format} samples"
        )
    if audio_format == "int16":
        return data
    if audio_format == "uint8":
        samples = (np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        samples = np.frombuffer(data, dtype="<f4")
        if not np.isfinite(samples).all():
            raise ProtocolError("float32 audio frame holds NaN or infinity")
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


@dataclass(frozen=True)
class SideMessage:
    """A JSON message between audio frames (Vexa's bot sends these)."""

    type: Literal["audio_chunk_metadata", "speaker_activity", "session_control"]
    payload: dict[str, Any]


SIDE_TYPES = ("audio_chunk_metadata", "speaker_activity", "session_control")


def parse_side_message(message: str) -> SideMessage:
    try:
        data = json.loads(message)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"text message is not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("type") not in SIDE_TYPES:
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise ProtocolError(f"unknown message type {kind!r}; expected one of {', '.join(SIDE_TYPES)}")
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise ProtocolError(f"{data['type']}: payload must be a JSON object")
    return SideMessage(data["type"], payload)


# -- replies -----------------------------------------------------------------------


def reply(uid: str, **fields: Any) -> str:
    return json.dumps({"uid": uid, **fields})


def server_ready(uid: str) -> str:
    return reply(uid, message="SERVER_READY", backend=BACKEND)


def disconnect(uid: str) -> str:
    return reply(uid, message="DISCONNECT")


def error(uid: str, message: str) -> str:
    return reply(uid, status="ERROR", message=message)


def wait(uid: str, minutes: float) -> str:
    return reply(uid, status="WAIT", message=minutes)


def language_detected(uid: str, language: str, probability: float) -> str:
    return reply(uid, language=language, language_prob=probability)


def segments(uid: str, items: list[dict[str, Any]]) -> str:
    return reply(uid, segments=items)
