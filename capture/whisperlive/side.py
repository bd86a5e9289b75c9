"""Vexa-style side messages mapped to lifecycle events. Pure."""

from __future__ import annotations

from typing import Any

from stenograph.capture.whisperlive.protocol import ProtocolError, SideMessage
from stenograph.schemas import SAMPLE_RATE, BotState, BotStatusChanged, Event, SpeakerActivity

SPEAKING = {"SPEAKER_START": True, "SPEAKER_END": False}
SESSION_EVENTS = {"LEAVING_MEETING": (BotState.LEAVING, "client_leaving")}


def _text(payload: dict[str, Any], name: str, max_len: int = 256) -> str:
    value = payload.get(name)
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise ProtocolError(f"{name}: required")
    return str(value)[:max_len]


def _number(payload: dict[str, Any], name: str) -> float:
    value = payload.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ProtocolError(f"{name}: must be a number")
    return float(value)


def side_events(
    message: SideMessage, *, tenant_id: str, meeting_id: str, session_id: str,
    session_started_at_ns: int, platform: str, native_meeting_id: str, sample_rate: int = SAMPLE_RATE,
) -> list[Event]:
    """The lifecycle events a side message stands for; ProtocolError names a bad field."""
    p = message.payload
    where = f"{message.type}."
    try:
        if message.type == "speaker_activity":
            kind = _text(p, "event_type")
            if kind not in SPEAKING:
                raise ProtocolError(f"event_type: expected one of {', '.join(SPEAKING)}")
            offset_ms = _number(p, "relative_client_timestamp_ms")
            return [SpeakerActivity(
                tenant_id=tenant_id, meeting_id=meeting_id, session_id=session_id,
                participant_id=_text(p, "participant_id_meet") if "participant_id_meet" in p
                else _text(p, "participant_name"),
                name=_text(p, "participant_name"), speaking=SPEAKING[kind],
                at_ns=session_started_at_ns + int(offset_ms * 1_000_000),
            )]
        if message.type == "session_control":
            event = _text(p, "event")
            if event not in SESSION_EVENTS:
                raise ProtocolError(f"event: expected one of {', '.join(SESSION_EVENTS)}")
            state, reason = SESSION_EVENTS[event]
            return [BotStatusChanged(
                tenant_id=tenant_id, meeting_id=meeting_id, state=state, reason=reason,
                sub_code=event.lower(), platform=platform, native_meeting_id=native_meeting_id,
                session_id=session_id,
            )]
        # audio_chunk_metadata describes the next binary frame; only its rate matters here
        if "sample_rate" in p and _number(p, "sample_rate") != sample_rate:
            raise ProtocolError(f"sample_rate: the gateway takes {sample_rate} Hz audio")
        return []
    except ProtocolError as exc:
        raise ProtocolError(where + str(exc)) from None
