"""schemas/codec.py: Avro round trips for every event on its topic, and every decode failure."""

from __future__ import annotations

import zlib

import pytest

from stenograph.schemas import events as ev
from stenograph.schemas.codec import TOPIC_EVENTS, codec, key_of
from stenograph.schemas.errors import CodecError
from stenograph.schemas.topics import (
    AUDIO,
    COMMANDS,
    KEYS,
    LIFECYCLE,
    REGISTRY,
    SEGMENTS,
    TENANTS,
    TRANSCRIPT_CHANGES,
    TRANSCRIPTS,
)

HEAD = {"tenant_id": "tenant-1", "meeting_id": "meeting-1", "event_id": "evt-1", "event_time_ns": 17 * 10**17}
PAYLOAD = bytes(range(256)) * 4

# Floats chosen to be exact in Avro `float` (32-bit): Word.probability is one.
EVENTS: list[tuple[str, ev.Event]] = [
    (AUDIO, ev.AudioFrame(
        **HEAD, session_id="sess", seq=42, capture_time_ns=10**18 + 4_200_000_000,
        session_started_at_ns=10**18, sample_rate=16_000, channels=1, payload=PAYLOAD,
        crc32=zlib.crc32(PAYLOAD), last=True, source="browser",
    )),
    (SEGMENTS, ev.SegmentEvent(
        **HEAD, run_id="live", session_id="sess", segment_id="sess-0-1", revision=2, completed=True,
        start_s=1.234, end_s=5.678, start_time_ns=10**18 + 1_234_000_000,
        end_time_ns=10**18 + 5_678_000_000, text="Hello wörld ✓", model="tiny.en", seq_first=0,
        seq_last=49,
        words=(ev.Word(word=" Hello", start_s=1.234, end_s=1.5, probability=0.75),
               ev.Word(word=" wörld", start_s=1.5, end_s=2.0, probability=0.5)),
        language="en", speaker="Ann", settings={"beam_size": "5", "task": "transcribe"},
    )),
    (SEGMENTS, ev.SegmentEvent(
        **HEAD, run_id="r", session_id="s", segment_id="s-1-0", revision=0, completed=False,
        start_s=0.0, end_s=0.5, start_time_ns=0, end_time_ns=500_000_000, text="", model="m",
        seq_first=1, seq_last=1,
    )),
    (TRANSCRIPTS, ev.TranscriptUpdated(
        **HEAD, run_id="live", platform="zoom", native_meeting_id="123",
        segments=(
            ev.TranscriptSegment(segment_id="a", start_s=0.5, end_s=1.0, start_time_ns=1, end_time_ns=2,
                                 text="one", completed=True, speaker="Bo", language="en"),
            ev.TranscriptSegment(segment_id="b", start_s=1.0, end_s=2.0, start_time_ns=3, end_time_ns=4,
                                 text="two", completed=False),
        ),
    )),
    (TRANSCRIPTS, ev.TranscriptUpdated(**HEAD, run_id="empty", segments=())),
    (TRANSCRIPT_CHANGES, ev.SegmentChanged(
        **HEAD, run_id="live", session_id="s", revision=3,
        segment=ev.TranscriptSegment(segment_id="a", start_s=0.5, end_s=1.0, start_time_ns=1, end_time_ns=2,
                                     text="one", completed=False, speaker="Bo", language="en"),
    )),
    (TRANSCRIPT_CHANGES, ev.TranscriptCompleted(**HEAD, run_id="settled", session_id="s", platform="zoom",
                                                native_meeting_id="123")),
    (TRANSCRIPT_CHANGES, ev.TranscriptCompleted(**HEAD, run_id="live", session_id="s")),
    (LIFECYCLE, ev.BotStatusChanged(
        **HEAD, state=ev.BotState.AWAITING_ADMISSION, reason="waiting", platform="teams",
        native_meeting_id="19.abc", sub_code="lobby", session_id="sess",
    )),
    (LIFECYCLE, ev.BotStatusChanged(
        **HEAD, state=ev.BotState.FAILED, reason="x", platform="zoom", native_meeting_id="1",
    )),
    (LIFECYCLE, ev.ParticipantChanged(**HEAD, session_id="s", participant_id="p1", name="Ann", joined=True)),
    (LIFECYCLE, ev.SpeakerActivity(
        **HEAD, session_id="s", participant_id="p1", name="Ann", speaking=False, at_ns=10**18 + 7,
    )),
    (LIFECYCLE, ev.AudioHealth(
        **HEAD, session_id="s", kind=ev.HealthKind.SILENT_STREAM, seq_first=10, seq_last=60,
        detail="5.0 s of digital zeros",
    )),
    (COMMANDS, ev.JoinRequested(
        **HEAD, platform="google_meet", native_meeting_id="abc-defg-hij", bot_name="Steno",
        passcode="1234", language="de", task="translate",
        automatic_leave={"waiting_room_timeout": 300_000, "everyone_left_timeout": 2**40},
    )),
    (COMMANDS, ev.JoinRequested(**HEAD, platform="zoom", native_meeting_id="1", bot_name="b")),
    (COMMANDS, ev.LeaveRequested(**HEAD, reason="user")),
    (COMMANDS, ev.ConfigChanged(**HEAD, language="fr", task=None)),
    (COMMANDS, ev.ReplayRequested(**HEAD, run_id="replay-1", model="large-v3", language=None)),
    (COMMANDS, ev.DefaultRunSelected(**HEAD, run_id="replay-1")),
    (COMMANDS, ev.MeetingDataUpdated(**HEAD, data_json='{"name": "Weekly"}')),
    (COMMANDS, ev.MeetingErased(**HEAD, platform="zoom", native_meeting_id="1")),
    (KEYS, ev.DataKeyIssued(**HEAD, session_id="s", wrapped_key=bytes(range(60)))),
    (KEYS, ev.MeetingShredded(**HEAD)),
    (LIFECYCLE, ev.AudioSessionIndexed(
        **HEAD, session_id="s", platform="zoom", native_meeting_id="1", topic="meetings.audio",
        partition=2, first_offset=10, started_at_ns=10**18,
    )),
    (LIFECYCLE, ev.RunProgress(
        **HEAD, run_id="r", state="failed", model="base", progress=0.5, error="model crashed",
    )),
    (TENANTS, ev.ApiKeyIssued(tenant_id="acme", key_id="k1", key_hash="ab" * 32, label="bots")),
    (TENANTS, ev.ApiKeyRevoked(tenant_id="acme", key_id="k1")),
    (TENANTS, ev.TenantUpserted(tenant_id="acme", name="Acme", email=None, max_concurrent_bots=3)),
]


def test_every_event_type_is_covered() -> None:
    covered = {type(e) for _, e in EVENTS}
    assert covered == {t for types in TOPIC_EVENTS.values() for t in types}
    assert set(TOPIC_EVENTS) == set(REGISTRY) == {AUDIO, SEGMENTS, LIFECYCLE, COMMANDS, TRANSCRIPTS,
                                                 TRANSCRIPT_CHANGES, TENANTS, KEYS}


def _id(x: object) -> str:
    return x if isinstance(x, str) else type(x).__name__


@pytest.mark.parametrize(("topic", "event"), EVENTS, ids=_id)
def test_round_trip(topic: str, event: ev.Event) -> None:
    c = codec(topic)
    data = c.encode(event)
    assert data[0] == REGISTRY[topic].latest_version
    decoded = c.decode(data)
    assert type(decoded) is type(event)
    assert decoded == event
    assert c.encode(decoded) == data


def test_round_trip_restores_enums_and_nested_types() -> None:
    status = next(e for _, e in EVENTS if isinstance(e, ev.BotStatusChanged))
    assert isinstance(codec(LIFECYCLE).decode(codec(LIFECYCLE).encode(status)).state, ev.BotState)
    health = next(e for _, e in EVENTS if isinstance(e, ev.AudioHealth))
    assert codec(LIFECYCLE).decode(codec(LIFECYCLE).encode(health)).kind is ev.HealthKind.SILENT_STREAM
    seg = codec(SEGMENTS).decode(codec(SEGMENTS).encode(EVENTS[1][1]))
    assert isinstance(seg.words, tuple)
    assert all(isinstance(w, ev.Word) for w in seg.words)


def test_codec_is_cached_per_topic() -> None:
    assert codec(AUDIO) is codec(AUDIO)
    assert codec(AUDIO) is not codec(SEGMENTS)


def test_key_is_meeting_id() -> None:
    assert key_of(EVENTS[0][1]) == b"meeting-1"


def reason_of(topic: str, data: bytes | None) -> str:
    with pytest.raises(CodecError) as info:
        codec(topic).decode(data)
    assert str(info.value).startswith(info.value.reason + ": ")
    return info.value.reason


@pytest.mark.parametrize("topic", sorted(REGISTRY))
def test_empty(topic: str) -> None:
    assert reason_of(topic, b"") == "empty"
    assert reason_of(topic, None) == "empty"


@pytest.mark.parametrize("version", [0, 3, 9, 255])
def test_unknown_version(version: int) -> None:
    data = codec(AUDIO).encode(EVENTS[0][1])
    assert reason_of(AUDIO, bytes([version]) + data[1:]) == "unknown_version"


@pytest.mark.parametrize(
    "body",
    [b"", b"\xff" * 40, b"\x02abc", b"\x01" + b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"],
)
def test_garbage_is_undecodable(body: bytes) -> None:
    assert reason_of(AUDIO, b"\x01" + body) == "undecodable"


@pytest.mark.parametrize(("topic", "event"), EVENTS[::3])
def test_truncated_is_undecodable(topic: str, event: ev.Event) -> None:
    data = codec(topic).encode(event)
    assert reason_of(topic, data[: len(data) // 2]) == "undecodable"


@pytest.mark.parametrize(("topic", "event"), EVENTS[::2])
def test_trailing_bytes_are_undecodable(topic: str, event: ev.Event) -> None:
    data = codec(topic).encode(event)
    with pytest.raises(CodecError, match="3 trailing bytes") as info:
        codec(topic).decode(data + b"\x00\x00\x00")
    assert info.value.reason == "undecodable"


@pytest.mark.parametrize(
    ("topic", "event"),
    [(AUDIO, EVENTS[1][1]), (SEGMENTS, EVENTS[0][1]),
     (LIFECYCLE, next(e for t, e in EVENTS if t == COMMANDS)),
     (COMMANDS, EVENTS[5][1]), (TRANSCRIPTS, EVENTS[1][1])],
)
def test_event_on_the_wrong_topic(topic: str, event: ev.Event) -> None:
    with pytest.raises(CodecError) as info:
        codec(topic).encode(event)
    assert info.value.reason == "wrong_type"
    assert type(event).__name__ in info.value.detail
    assert topic in info.value.detail


def test_oversized_on_encode() -> None:
    frame = EVENTS[0][1]
    assert isinstance(frame, ev.AudioFrame)
    big = bytes(REGISTRY[AUDIO].max_message_bytes)
    with pytest.raises(CodecError) as info:
        codec(AUDIO).encode(ev.AudioFrame(**{**frame.__dict__, "payload": big, "crc32": zlib.crc32(big)}))
    assert info.value.reason == "oversized"


def test_oversized_on_decode() -> None:
    limit = REGISTRY[SEGMENTS].max_message_bytes
    assert reason_of(SEGMENTS, b"\x01" + bytes(limit)) == "oversized"


def test_just_under_the_limit_encodes() -> None:
    frame = EVENTS[0][1]
    assert isinstance(frame, ev.AudioFrame)
    payload = bytes(REGISTRY[AUDIO].max_message_bytes - 1000)
    data = codec(AUDIO).encode(ev.AudioFrame(**{**frame.__dict__, "payload": payload, "crc32": 0}))
    assert len(data) <= REGISTRY[AUDIO].max_message_bytes
    assert codec(AUDIO).decode(data).payload == payload


def test_transcripts_topic_has_a_larger_limit() -> None:
    assert REGISTRY[TRANSCRIPTS].max_message_bytes > REGISTRY[AUDIO].max_message_bytes
    big = "x" * (REGISTRY[AUDIO].max_message_bytes + 10)
    event = ev.TranscriptUpdated(**HEAD, run_id="live", segments=(
        ev.TranscriptSegment(segment_id="a", start_s=0, end_s=1, start_time_ns=0, end_time_ns=1, text=big,
                             completed=True),
    ))
    assert codec(TRANSCRIPTS).decode(codec(TRANSCRIPTS).encode(event)) == event


def test_invalid_event_field() -> None:
    bad = ev.LeaveRequested(tenant_id="t", meeting_id="m", reason=None)  # type: ignore[arg-type]
    with pytest.raises(CodecError) as info:
        codec(COMMANDS).encode(bad)
    assert info.value.reason == "invalid_event"


@pytest.mark.parametrize(("topic", "event"), EVENTS[::2])
def test_bytes_from_another_topic_are_undecodable(topic: str, event: ev.Event) -> None:
    data = codec(topic).encode(event)
    for other in sorted(set(REGISTRY) - {topic}):
        # another topic has no such schema version, cannot parse the body, or its events
        # refuse the values
        assert reason_of(other, data) in {"undecodable", "unknown_version", "wrong_schema"}, other


def test_a_session_end_written_before_v3_decodes_as_one() -> None:
    """v1/v2 marked a session's end as a retirement of `<session>-end`; readers see session_end."""
    import io

    from fastavro import schemaless_writer

    from stenograph.schemas.codec import parsed_schema, to_record

    end = ev.SegmentEvent(**HEAD, run_id="live", session_id="s", segment_id="s-end", revision=2**31 - 1,
                          completed=True, start_s=0, end_s=0, start_time_ns=0, end_time_ns=0, text="",
                          model="tiny.en", seq_first=9, seq_last=9)
    for version in (1, 2):
        buf = io.BytesIO()
        buf.write(bytes([version]))
        schemaless_writer(buf, parsed_schema(SEGMENTS, version), to_record(end))
        assert codec(SEGMENTS).decode(buf.getvalue()).session_end
    ordinary = ev.SegmentEvent(**{**end.__dict__, "segment_id": "s-0-0", "text": "hello"})
    assert not codec(SEGMENTS).decode(codec(SEGMENTS).encode(ordinary)).session_end
