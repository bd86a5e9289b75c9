"""schemas/codec.py: the v2 events of lifecycle and commands, and reading v1 messages with v2."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastavro import schemaless_writer

from stenograph.schemas import events as ev
from stenograph.schemas.codec import codec, parsed_schema
from stenograph.schemas.topics import COMMANDS, LIFECYCLE, REGISTRY

HEAD = {"tenant_id": "tenant-1", "meeting_id": "meeting-1", "event_id": "evt-1", "event_time_ns": 17 * 10**17}
RANGES = (
    ev.AudioRange(session_id="s1", topic="meetings.audio", partition=5, first_offset=0, last_offset=2**40),
    ev.AudioRange(session_id="s2", topic="x.meetings.audio", partition=0, first_offset=900, last_offset=900),
)

V2_EVENTS: list[tuple[str, ev.Event]] = [
    (LIFECYCLE, ev.AudioSessionIndexed(
        **HEAD, session_id="s1", platform="google_meet", native_meeting_id="abc-defg-hij",
        topic="meetings.audio", partition=7, first_offset=12_345, started_at_ns=10**18,
        last_offset=2**40 + 1, frames=36_000, audio_s=3600.25,
    )),
    (LIFECYCLE, ev.AudioSessionIndexed(
        **HEAD, session_id="s2", platform="zoom", native_meeting_id="1", topic="meetings.audio",
        partition=0, first_offset=0, started_at_ns=1,
    )),
    (LIFECYCLE, ev.RunProgress(
        **HEAD, run_id="r-0123456789ab", state="running", model="base", language="de", task="translate",
        progress=0.4375, eta_s=12.5, audio_s=600.0, segments=42,
    )),
    (LIFECYCLE, ev.RunProgress(**HEAD, run_id="r-1", state="requested", model="tiny.en")),
    (LIFECYCLE, ev.RunProgress(
        **HEAD, run_id="r-1", state="failed", model="/models/custom", error="model crashed: ünïcode ✓",
    )),
    (COMMANDS, ev.DefaultRunSelected(**HEAD, run_id="r-0123456789ab")),
    (COMMANDS, ev.ReplayRequested(
        **HEAD, run_id="r-0123456789ab", model="base", language="fr", task="translate", ranges=RANGES,
    )),
    (COMMANDS, ev.ReplayRequested(**HEAD, run_id="r-2", model="tiny.en", ranges=RANGES[:1])),
    (COMMANDS, ev.ReplayRequested(**HEAD, run_id="r-3", model="tiny.en")),
]


def _id(x: object) -> str:
    return x if isinstance(x, str) else type(x).__name__


def test_lifecycle_is_at_v2_and_commands_past_it() -> None:
    assert REGISTRY[LIFECYCLE].versions == (1, 2)
    assert REGISTRY[COMMANDS].versions[:2] == (1, 2)


@pytest.mark.parametrize(("topic", "event"), V2_EVENTS, ids=_id)
def test_v2_round_trip(topic: str, event: ev.Event) -> None:
    c = codec(topic)
    data = c.encode(event)
    assert data[0] == REGISTRY[topic].latest_version
    decoded = c.decode(data)
    assert type(decoded) is type(event)
    assert decoded == event
    assert c.encode(decoded) == data


def test_replay_ranges_decode_as_a_tuple_of_audio_ranges() -> None:
    event = V2_EVENTS[6][1]
    decoded = codec(COMMANDS).decode(codec(COMMANDS).encode(event))
    assert isinstance(decoded.ranges, tuple)
    assert all(isinstance(r, ev.AudioRange) for r in decoded.ranges)
    assert decoded.ranges == RANGES
    assert hash(decoded) == hash(event)  # frozen all the way down


def test_run_progress_state_enum_value_encodes_as_its_string() -> None:
    event = ev.RunProgress(**HEAD, run_id="r", state=ev.RunState.COMPLETED, model="base", progress=1.0)
    decoded = codec(LIFECYCLE).decode(codec(LIFECYCLE).encode(event))
    assert decoded.state == "completed"
    assert decoded == event


def v1_message(topic: str, union_field: str, name: str, body: dict[str, Any]) -> bytes:
    rec = {**HEAD, union_field: (f"stenograph.{name}", body)}
    buf = io.BytesIO()
    buf.write(bytes([1]))
    schemaless_writer(buf, parsed_schema(topic, 1), rec)
    return buf.getvalue()


V1_MESSAGES: list[tuple[str, str, str, dict[str, Any], ev.Event]] = [
    (LIFECYCLE, "event", "BotStatusChanged",
     {"state": "active", "reason": "admitted", "sub_code": None, "platform": "zoom",
      "native_meeting_id": "123", "session_id": "s1"},
     ev.BotStatusChanged(**HEAD, state=ev.BotState.ACTIVE, reason="admitted", platform="zoom",
                         native_meeting_id="123", session_id="s1")),
    (LIFECYCLE, "event", "ParticipantChanged",
     {"session_id": "s1", "participant_id": "p1", "name": "Ann", "joined": True},
     ev.ParticipantChanged(**HEAD, session_id="s1", participant_id="p1", name="Ann", joined=True)),
    (LIFECYCLE, "event", "SpeakerActivity",
     {"session_id": "s1", "participant_id": "p1", "name": "Ann", "speaking": True, "at_ns": 10**18},
     ev.SpeakerActivity(**HEAD, session_id="s1", participant_id="p1", name="Ann", speaking=True,
                        at_ns=10**18)),
    (LIFECYCLE, "event", "AudioHealth",
     {"session_id": "s1", "kind": "gap", "seq_first": 3, "seq_last": 9, "detail": "7 frames"},
     ev.AudioHealth(**HEAD, session_id="s1", kind=ev.HealthKind.GAP, seq_first=3, seq_last=9,
                    detail="7 frames")),
    (COMMANDS, "command", "JoinRequested",
     {"platform": "teams", "native_meeting_id": "19.x", "passcode": None, "bot_name": "Steno",
      "language": "de", "task": "transcribe", "automatic_leave": {"waiting_room_timeout": 300_000}},
     ev.JoinRequested(**HEAD, platform="teams", native_meeting_id="19.x", bot_name="Steno", language="de",
                      automatic_leave={"waiting_room_timeout": 300_000})),
    (COMMANDS, "command", "LeaveRequested", {"reason": "user"},
     ev.LeaveRequested(**HEAD, reason="user")),
    (COMMANDS, "command", "ConfigChanged", {"language": "fr", "task": None},
     ev.ConfigChanged(**HEAD, language="fr")),
    (COMMANDS, "command", "ReplayRequested",
     {"run_id": "r-old", "model": "base", "language": None, "task": "translate"},
     ev.ReplayRequested(**HEAD, run_id="r-old", model="base", task="translate", ranges=())),
]


@pytest.mark.parametrize(("topic", "field", "name", "body", "expected"), V1_MESSAGES,
                         ids=[m[2] for m in V1_MESSAGES])
def test_v1_message_decodes_with_the_current_codec(
    topic: str, field: str, name: str, body: dict[str, Any], expected: ev.Event,
) -> None:
    data = v1_message(topic, field, name, body)
    assert data[0] == 1
    decoded = codec(topic).decode(data)
    assert type(decoded) is type(expected)
    assert decoded == expected


def test_v1_replay_request_has_no_ranges() -> None:
    data = v1_message(COMMANDS, "command", "ReplayRequested",
                      {"run_id": "r-old", "model": "tiny.en", "language": "en", "task": "transcribe"})
    decoded = codec(COMMANDS).decode(data)
    assert isinstance(decoded, ev.ReplayRequested)
    assert decoded.ranges == ()
    # re-encoded by the current codec it is a message of the latest version, the same event
    again = codec(COMMANDS).encode(decoded)
    assert again[0] == REGISTRY[COMMANDS].latest_version
    assert codec(COMMANDS).decode(again) == decoded


def test_v1_status_enum_is_restored() -> None:
    _, field, name, body, _ = V1_MESSAGES[0]
    decoded = codec(LIFECYCLE).decode(v1_message(LIFECYCLE, field, name, body))
    assert decoded.state is ev.BotState.ACTIVE


@pytest.mark.parametrize(("topic", "event"), [(t, e) for t, e in V2_EVENTS
                                              if isinstance(e, ev.AudioSessionIndexed | ev.RunProgress
                                                            | ev.DefaultRunSelected)], ids=_id)
def test_v2_only_events_are_not_in_the_v1_schema(topic: str, event: ev.Event) -> None:
    """The v1 schemas know nothing of these types: they exist only from v2 on."""
    union_field = "event" if topic == LIFECYCLE else "command"
    branches = {b["name"] for f in parsed_schema(topic, 1)["fields"] if f["name"] == union_field
                for b in f["type"]}
    assert f"stenograph.{type(event).__name__}" not in branches
