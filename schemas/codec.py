"""Avro codec for every topic value.

Wire format: one byte with the writer's schema version, then the Avro binary body
(schemaless). Decoding resolves the writer's version against the latest schema,
so a consumer reads every older version of its topic.
"""

from __future__ import annotations

import io
import json
from dataclasses import fields, is_dataclass, replace
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.validation import ValidationError, validate

from stenograph.schemas import events as ev
from stenograph.schemas.errors import CodecError
from stenograph.schemas.topics import (
    AUDIO,
    COMMANDS,
    KEYS,
    LIFECYCLE,
    SEGMENTS,
    TENANTS,
    TRANSCRIPT_CHANGES,
    TRANSCRIPTS,
    TopicSpec,
    spec,
)

NAMESPACE = "stenograph"

# Which dataclass (or union of dataclasses) each topic carries.
TOPIC_EVENTS: dict[str, tuple[type[ev.Event], ...]] = {
    AUDIO: (ev.AudioFrame,),
    SEGMENTS: (ev.SegmentEvent,),
    TRANSCRIPTS: (ev.TranscriptUpdated,),
    TRANSCRIPT_CHANGES: (ev.SegmentChanged, ev.TranscriptCompleted),
    LIFECYCLE: (ev.BotStatusChanged, ev.ParticipantChanged, ev.SpeakerActivity, ev.AudioHealth,
                ev.AudioSessionIndexed, ev.RunProgress),
    COMMANDS: (ev.JoinRequested, ev.LeaveRequested, ev.ConfigChanged, ev.ReplayRequested,
               ev.DefaultRunSelected, ev.MeetingDataUpdated, ev.MeetingErased),
    TENANTS: (ev.ApiKeyIssued, ev.ApiKeyRevoked, ev.TenantUpserted),
    KEYS: (ev.DataKeyIssued, ev.MeetingShredded),
}
# Envelope topics carry several event types in a union field of this name.
UNION_FIELD = {LIFECYCLE: "event", COMMANDS: "command", TENANTS: "event", TRANSCRIPT_CHANGES: "event",
               KEYS: "event"}
HEADER_FIELDS = ("event_id", "tenant_id", "meeting_id", "event_time_ns")

# Nested records and enums that need converting back from plain Avro values.
NESTED: dict[tuple[type, str], type] = {
    (ev.SegmentEvent, "words"): ev.Word,
    (ev.TranscriptUpdated, "segments"): ev.TranscriptSegment,
    (ev.ReplayRequested, "ranges"): ev.AudioRange,
    (ev.SegmentChanged, "segment"): ev.TranscriptSegment,
}
ENUMS: dict[tuple[type, str], type[StrEnum]] = {
    (ev.BotStatusChanged, "state"): ev.BotState,
    (ev.AudioHealth, "kind"): ev.HealthKind,
}


def schema_text(base: str, version: int) -> str:
    path = resources.files("stenograph.schemas") / "avro" / f"{base}.v{version}.avsc"
    return path.read_text()


@cache
def parsed_schema(base: str, version: int) -> Any:
    return parse_schema(json.loads(schema_text(base, version)))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def to_record(obj: Any) -> dict[str, Any]:
    """A dataclass as a plain Avro datum (tuples of dataclasses become lists of dicts)."""
    out: dict[str, Any] = {}
    for name in _field_names(type(obj)):
        value = getattr(obj, name)
        if isinstance(value, tuple):
            value = [to_record(v) for v in value]
        elif is_dataclass(value):
            value = to_record(value)
        out[name] = value
    return out


def from_record(cls: type[Any], rec: dict[str, Any]) -> Any:
    names = _field_names(cls)
    kwargs = {k: v for k, v in rec.items() if k in names}
    for (owner, name), nested in NESTED.items():
        if owner is cls and name in kwargs:
            value = kwargs[name]
            kwargs[name] = (from_record(nested, value) if isinstance(value, dict)
                            else tuple(from_record(nested, r) for r in value))
    for (owner, name), enum in ENUMS.items():
        if owner is cls and name in kwargs:
            kwargs[name] = enum(kwargs[name])
    return cls(**kwargs)


class Codec:
    """Encodes and decodes the values of one topic (registry name, not prefixed)."""

    def __init__(self, base: str) -> None:
        self.spec: TopicSpec = spec(base)
        self.base = base
        self.version = self.spec.latest_version
        self._writer = parsed_schema(base, self.version)
        self._readers = {v: parsed_schema(base, v) for v in self.spec.versions}
        self._types = TOPIC_EVENTS[base]
        self._by_name = {f"{NAMESPACE}.{t.__name__}": t for t in self._types}
        self._union = UNION_FIELD.get(base)
        self._prefix = bytes([self.version])
        self._by_meeting = self.spec.key == "meeting_id"

    def encode(self, event: ev.Event) -> bytes:
        if not isinstance(event, self._types):
            raise CodecError("wrong_type", f"{type(event).__name__} does not go on {self.base}")
        if self._by_meeting and not event.meeting_id:
            raise CodecError("invalid_event", f"{type(event).__name__} without a meeting id on {self.base}")
        rec = to_record(event)
        if self._union is not None:
            body = {k: rec.pop(k) for k in list(rec) if k not in HEADER_FIELDS}
            rec[self._union] = (f"{NAMESPACE}.{type(event).__name__}", body)
        buf = io.BytesIO()
        buf.write(self._prefix)
        try:
            schemaless_writer(buf, self._writer, rec)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CodecError("invalid_event", f"{type(event).__name__}: {exc}") from exc
        data = buf.getvalue()
        if len(data) > self.spec.max_message_bytes:
            raise CodecError("oversized", f"{len(data)} bytes > {self.spec.max_message_bytes}")
        return data

    def decode(self, data: bytes | None) -> Any:
        if not data:
            raise CodecError("empty", f"empty message on {self.base}")
        if len(data) > self.spec.max_message_bytes:
            raise CodecError("oversized", f"{len(data)} bytes > {self.spec.max_message_bytes}")
        writer = self._readers.get(data[0])
        if writer is None:
            raise CodecError("unknown_version", f"schema version {data[0]} on {self.base}")
        buf = io.BytesIO(data)
        buf.seek(1)
        try:
            rec = schemaless_reader(
                buf, writer, self._readers[self.version], return_record_name=True
            )
        except Exception as exc:  # fastavro raises many types on garbage input
            raise CodecError("undecodable", f"{type(exc).__name__}: {exc}") from exc
        if buf.tell() != len(data):
            raise CodecError("undecodable", f"{len(data) - buf.tell()} trailing bytes")
        if not isinstance(rec, dict):
            raise CodecError("undecodable", "not a record")
        # the reader does not range-check: a varint past 32 bits decodes into an `int` field and
        # the event could never be encoded again (found by make fuzz)
        try:
            validate(rec, self._readers[self.version], raise_errors=True)
        except ValidationError as exc:
            raise CodecError("undecodable", f"out of its schema's range: {exc}") from exc
        try:
            if self._union is None:
                event = from_record(self._types[0], rec)
                if data[0] < 3 and self.base == SEGMENTS:
                    event = _legacy_session_end(event)
            else:
                name, body = rec.pop(self._union)
                event = from_record(self._by_name[name], {**rec, **body})
        except (TypeError, ValueError, KeyError) as exc:
            raise CodecError("wrong_schema", f"{type(exc).__name__}: {exc}") from exc
        if self._by_meeting and not event.meeting_id:  # another topic's bytes that happened to parse
            raise CodecError("wrong_schema", f"{type(event).__name__} without a meeting id")
        return event


def _legacy_session_end(event: ev.SegmentEvent) -> ev.SegmentEvent:
    """Before v3 a session's end was a retirement of the segment id `<session>-end`."""
    if event.segment_id == f"{event.session_id}-end" and event.completed and not event.text:
        return replace(event, session_end=True)
    return event


@cache
def codec(base: str) -> Codec:
    return Codec(base)


def key_of(event: ev.Event) -> bytes:
    """Meeting topics are keyed by meeting id; the compacted tenants topic by entity; a data
    key on the compacted keys topic by its session, so each session's key is its own record."""
    if isinstance(event, ev.ApiKeyIssued | ev.ApiKeyRevoked):
        return f"key:{event.key_id}".encode()
    if isinstance(event, ev.TenantUpserted):
        return f"tenant:{event.tenant_id}".encode()
    if isinstance(event, ev.DataKeyIssued):
        return data_key_record(event.meeting_id, event.session_id)
    return event.meeting_id.encode()


def data_key_record(meeting_id: str, session_id: str) -> bytes:
    """The keys topic's record key of a session's data key (and of its tombstone)."""
    return f"{meeting_id}/{session_id}".encode()


def data_key_session(record_key: bytes) -> tuple[str, str]:
    """(meeting, session) of a keys-topic record key; session "" for a meeting's erasure record."""
    meeting, _, session = record_key.decode(errors="replace").partition("/")
    return meeting, session
