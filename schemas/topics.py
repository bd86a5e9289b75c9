"""The one topic registry: for each topic its key, value schema, partitions, retention and roles."""

from __future__ import annotations

from dataclasses import dataclass, field

from stenograph.schemas.errors import UnknownTopicError

DAY_MS = 24 * 3600 * 1000
# every meeting-keyed topic has this many partitions: a meeting's records sit in the same
# partition number on each, so one consumer instance sees all of a meeting (co-partitioning)
MEETING_PARTITIONS = 8


@dataclass(frozen=True, kw_only=True)
class TopicSpec:
    name: str
    key: str
    value_schema: str  # the Avro record name; schema files are avro/<name>.v<N>.avsc
    versions: tuple[int, ...]
    partitions: int
    retention_ms: int  # -1 keeps forever
    compacted: bool = False
    max_message_bytes: int = 1_048_576
    producers: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    dlq: bool = True
    dlq_owner: str | None = None  # the one consumer that parks poison records; the others skip
    # a compacted topic whose removed values must leave the disk within a bound (destroyed data
    # keys): its segments roll and are compacted at most this late
    max_compaction_lag_ms: int | None = None

    @property
    def latest_version(self) -> int:
        return self.versions[-1]

    def config(self) -> dict[str, str]:
        """Broker-side topic configuration."""
        cfg = {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "retention.ms": str(self.retention_ms),
            "max.message.bytes": str(self.max_message_bytes),
        }
        if self.compacted:
            cfg["min.compaction.lag.ms"] = "60000"
        if self.max_compaction_lag_ms is not None:
            cfg["max.compaction.lag.ms"] = str(self.max_compaction_lag_ms)
            cfg["segment.ms"] = str(self.max_compaction_lag_ms)
        return cfg


@dataclass(frozen=True)
class TopicNames:
    """Resolved topic names under an optional prefix (tests and side-by-side stacks use one)."""

    prefix: str = ""
    _registry: dict[str, TopicSpec] = field(default_factory=lambda: REGISTRY, repr=False)

    def name(self, base: str) -> str:
        if base not in self._registry:
            raise UnknownTopicError(base)
        return f"{self.prefix}{base}"

    def state(self, base: str) -> str:
        if base not in STATE_TOPICS:
            raise UnknownTopicError(base)
        return f"{self.prefix}{base}"

    def dlq(self, base: str) -> str:
        return f"{self.name(base)}.dlq"

    @property
    def audio(self) -> str:
        return self.name(AUDIO)

    @property
    def segments(self) -> str:
        return self.name(SEGMENTS)

    @property
    def lifecycle(self) -> str:
        return self.name(LIFECYCLE)

    @property
    def commands(self) -> str:
        return self.name(COMMANDS)

    @property
    def transcripts(self) -> str:
        return self.name(TRANSCRIPTS)

    @property
    def transcript_changes(self) -> str:
        return self.name(TRANSCRIPT_CHANGES)

    @property
    def tenants(self) -> str:
        return self.name(TENANTS)

    @property
    def keys(self) -> str:
        return self.name(KEYS)



COMMANDS = "meetings.commands"
LIFECYCLE = "meetings.lifecycle"
AUDIO = "meetings.audio"
SEGMENTS = "meetings.segments"
TRANSCRIPTS = "meetings.transcripts"
TRANSCRIPT_CHANGES = "meetings.transcript-changes"
TENANTS = "tenants"
KEYS = "meetings.keys"

REGISTRY: dict[str, TopicSpec] = {
    spec.name: spec
    for spec in (
        TopicSpec(
            name=COMMANDS, key="meeting_id", value_schema="MeetingCommand", versions=(1, 2, 3),
            partitions=MEETING_PARTITIONS, retention_ms=30 * DAY_MS,
            producers=("api", "cli"),
            consumers=("bot-manager", "transcriber", "replayer", "aggregator"), dlq_owner="aggregator",
            events=("JoinRequested", "LeaveRequested", "ConfigChanged", "ReplayRequested",
                    "DefaultRunSelected", "MeetingDataUpdated", "MeetingErased"),
        ),
        TopicSpec(
            name=LIFECYCLE, key="meeting_id", value_schema="LifecycleEvent", versions=(1, 2),
            partitions=MEETING_PARTITIONS, retention_ms=90 * DAY_MS,
            producers=("capture", "bots", "transcriber", "replayer"),
            consumers=("aggregator", "webhooks"), dlq_owner="aggregator",
            events=("BotStatusChanged", "ParticipantChanged", "SpeakerActivity", "AudioHealth",
                    "AudioSessionIndexed", "RunProgress"),
        ),
        TopicSpec(
            name=AUDIO, key="meeting_id", value_schema="AudioFrame", versions=(1, 2),
            partitions=MEETING_PARTITIONS, retention_ms=-1, max_message_bytes=1_048_576,
            producers=("capture",), consumers=("transcriber", "replayer"), dlq_owner="transcriber",
            events=("AudioFrame",),
        ),
        TopicSpec(
            name=SEGMENTS, key="meeting_id", value_schema="SegmentEvent", versions=(1, 2, 3),
            partitions=MEETING_PARTITIONS, retention_ms=-1,
            producers=("transcriber", "replayer"), consumers=("aggregator", "webhooks", "gateway"),
            dlq_owner="aggregator",
            events=("SegmentEvent",),
        ),
        TopicSpec(
            name=TRANSCRIPTS, key="meeting_id", value_schema="TranscriptUpdated", versions=(1,),
            partitions=MEETING_PARTITIONS, retention_ms=-1, compacted=True, max_message_bytes=8_388_608,
            producers=("aggregator",), consumers=("downstream",),
            events=("TranscriptUpdated",),
        ),
        TopicSpec(
            name=TRANSCRIPT_CHANGES, key="meeting_id", value_schema="TranscriptChange", versions=(1,),
            partitions=MEETING_PARTITIONS, retention_ms=7 * DAY_MS,
            producers=("aggregator",), consumers=("api", "webhooks", "downstream"), dlq_owner="webhooks",
            events=("SegmentChanged", "TranscriptCompleted"),
        ),
        TopicSpec(
            name=TENANTS, key="entity", value_schema="TenantEvent", versions=(1,),
            partitions=1, retention_ms=-1, compacted=True,
            producers=("cli", "api"), consumers=("gateway", "aggregator"), dlq_owner="aggregator",
            events=("ApiKeyIssued", "ApiKeyRevoked", "TenantUpserted"),
        ),
        # What makes a meeting's audio readable: compacted and kept forever, so an erasure's
        # record outlives every other topic, and a destroyed key stays destroyed. Read whole by
        # each reader of audio (a table feed); the aggregator destroys keys (tombstones). Record
        # keys: "<meeting>/<session>" for a data key, "<meeting>" for an erasure (codec.key_of),
        # every one in its meeting's partition (runtime.meeting_partition).
        TopicSpec(
            name=KEYS, key="meeting_id", value_schema="KeyEvent", versions=(1,),
            partitions=MEETING_PARTITIONS, retention_ms=-1, compacted=True,
            max_compaction_lag_ms=3600 * 1000,  # a destroyed key is off the log within about an hour
            producers=("capture", "aggregator"), consumers=("aggregator", "transcriber", "replayer", "api"),
            dlq_owner="aggregator", events=("DataKeyIssued", "MeetingShredded"),
        ),
    )
}


# The aggregator's state (aggregate/state.py): Faust tables' changelogs, compacted, keyed and
# partitioned like the meeting topics. Not part of the contract: JSON that only the aggregator reads.
STATE_TOPICS: dict[str, TopicSpec] = {
    s.name: s
    for s in (
        TopicSpec(name=name, key="meeting", value_schema="(faust table, JSON)", versions=(1,),
                  partitions=MEETING_PARTITIONS, retention_ms=-1, compacted=True, dlq=False,
                  producers=("aggregator",), consumers=("aggregator",))
        for name in ("aggregator.revisions", "aggregator.speaking", "aggregator.erased")
    )
}


def spec(base: str) -> TopicSpec:
    try:
        return REGISTRY[base]
    except KeyError:
        raise UnknownTopicError(base) from None


def all_topics(prefix: str = "") -> list[tuple[str, TopicSpec]]:
    """Every topic to create, DLQs included, as (resolved name, spec)."""
    out: list[tuple[str, TopicSpec]] = [(f"{prefix}{s.name}", s) for s in STATE_TOPICS.values()]
    for s in REGISTRY.values():
        out.append((f"{prefix}{s.name}", s))
        if s.dlq:
            dlq = TopicSpec(
                name=f"{s.name}.dlq", key=s.key, value_schema="(original bytes)", versions=(1,),
                partitions=1, retention_ms=30 * DAY_MS,
                max_message_bytes=max(s.max_message_bytes, 1_048_576) + 65_536,
            )
            out.append((f"{prefix}{dlq.name}", dlq))
    return out
