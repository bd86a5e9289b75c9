"""Events as frozen dataclasses: the in-process shape of every Avro record on the topics."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

SEAL_OVERHEAD = 12 + 16  # nonce and tag of AES-GCM: what sealing adds to a payload (schemas/sealing.py)
LIVE_RUN = "live"  # the run id of live transcription; replays get their own ids
# The settling pass: windows behind the live edge decoded offline style; its segments
# supersede the live finals of their span in the meeting's default transcript.
SETTLED_RUN = "settled"


def now_ns() -> int:
    return time.time_ns()


def new_id() -> str:
    return uuid.uuid4().hex


class BotState(StrEnum):
    REQUESTED = "requested"
    JOINING = "joining"
    AWAITING_ADMISSION = "awaiting_admission"
    ACTIVE = "active"
    LEAVING = "leaving"
    COMPLETED = "completed"
    FAILED = "failed"


class HealthKind(StrEnum):
    SILENT_STREAM = "silent_stream"
    GAP = "gap"
    DUPLICATE = "duplicate"
    CORRUPT_FRAME = "corrupt_frame"


@dataclass(frozen=True, kw_only=True)
class Event:
    """Fields every event carries."""

    tenant_id: str
    meeting_id: str
    event_id: str = field(default_factory=new_id)
    event_time_ns: int = field(default_factory=now_ns)


@dataclass(frozen=True, kw_only=True)
class AudioFrame(Event):
    session_id: str
    seq: int
    capture_time_ns: int
    session_started_at_ns: int
    sample_rate: int
    channels: int
    payload: bytes
    crc32: int
    encoding: str = "pcm_s16le"
    last: bool = False
    source: str = "file"
    sealed: bool = False  # payload sealed under the session's data key (schemas/sealing.py)

    @property
    def duration_s(self) -> float:
        plain = len(self.payload) - (SEAL_OVERHEAD if self.sealed else 0)
        return plain / (2 * self.channels * self.sample_rate)


@dataclass(frozen=True, kw_only=True)
class Word:
    word: str
    start_s: float
    end_s: float
    probability: float


@dataclass(frozen=True, kw_only=True)
class SegmentEvent(Event):
    run_id: str
    session_id: str
    segment_id: str
    revision: int
    completed: bool
    start_s: float
    end_s: float
    start_time_ns: int
    end_time_ns: int
    text: str
    model: str
    seq_first: int
    seq_last: int
    words: tuple[Word, ...] = ()
    language: str | None = None
    speaker: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    # settled run (v2): this session's live segments starting before this time are superseded
    settles_until_s: float | None = None
    # v3: the run's last event of this session, after all its segments (carries no segment)
    session_end: bool = False

    @property
    def retires(self) -> bool:
        """Completed with no text: the end of an interim segment whose finals have replaced it."""
        return self.completed and not self.text


# meetings.lifecycle


@dataclass(frozen=True, kw_only=True)
class BotStatusChanged(Event):
    state: BotState
    reason: str
    platform: str
    native_meeting_id: str
    sub_code: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ParticipantChanged(Event):
    session_id: str
    participant_id: str
    name: str
    joined: bool


@dataclass(frozen=True, kw_only=True)
class SpeakerActivity(Event):
    session_id: str
    participant_id: str
    name: str
    speaking: bool
    at_ns: int


@dataclass(frozen=True, kw_only=True)
class AudioHealth(Event):
    session_id: str
    kind: HealthKind
    seq_first: int
    seq_last: int
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class AudioSessionIndexed(Event):
    """Where a capture session's frames are in the audio topic (last_offset None while capturing)."""

    session_id: str
    platform: str
    native_meeting_id: str
    topic: str
    partition: int
    first_offset: int
    started_at_ns: int
    last_offset: int | None = None
    frames: int = 0
    audio_s: float = 0.0


class RunState(StrEnum):
    REQUESTED = "requested"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class RunProgress(Event):
    run_id: str
    state: str
    model: str
    language: str | None = None
    task: str = "transcribe"
    progress: float = 0.0
    eta_s: float | None = None
    audio_s: float = 0.0
    segments: int = 0
    error: str | None = None


LifecycleEvent = (
    BotStatusChanged | ParticipantChanged | SpeakerActivity | AudioHealth | AudioSessionIndexed
    | RunProgress
)

# meetings.commands


@dataclass(frozen=True, kw_only=True)
class JoinRequested(Event):
    platform: str
    native_meeting_id: str
    bot_name: str
    passcode: str | None = None
    language: str | None = None
    task: str = "transcribe"
    automatic_leave: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LeaveRequested(Event):
    reason: str = "leave_requested"


@dataclass(frozen=True, kw_only=True)
class ConfigChanged(Event):
    language: str | None = None
    task: str | None = None


@dataclass(frozen=True, kw_only=True)
class AudioRange:
    """One capture session's frames: offsets first..last (inclusive) of one partition."""

    session_id: str
    topic: str
    partition: int
    first_offset: int
    last_offset: int


@dataclass(frozen=True, kw_only=True)
class ReplayRequested(Event):
    run_id: str
    model: str
    language: str | None = None
    task: str = "transcribe"
    ranges: tuple[AudioRange, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DefaultRunSelected(Event):
    run_id: str


@dataclass(frozen=True, kw_only=True)
class MeetingDataUpdated(Event):
    data_json: str  # a JSON object; its keys replace the stored ones


@dataclass(frozen=True, kw_only=True)
class MeetingErased(Event):
    """The meeting is forgotten: stores drop it and ignore anything of it read later."""

    platform: str
    native_meeting_id: str


MeetingCommand = (
    JoinRequested | LeaveRequested | ConfigChanged | ReplayRequested | DefaultRunSelected
    | MeetingDataUpdated | MeetingErased
)

# meetings.transcripts


@dataclass(frozen=True, kw_only=True)
class TranscriptSegment:
    segment_id: str
    start_s: float
    end_s: float
    start_time_ns: int
    end_time_ns: int
    text: str
    completed: bool
    speaker: str | None = None
    language: str | None = None


@dataclass(frozen=True, kw_only=True)
class TranscriptUpdated(Event):
    run_id: str
    segments: tuple[TranscriptSegment, ...]
    platform: str | None = None
    native_meeting_id: str | None = None

# meetings.transcript-changes: the aggregator's output, once applied to the read model


@dataclass(frozen=True, kw_only=True)
class SegmentChanged(Event):
    """One accepted segment revision of a run, as the transcript now shows it."""

    run_id: str
    session_id: str
    revision: int
    segment: TranscriptSegment


@dataclass(frozen=True, kw_only=True)
class TranscriptCompleted(Event):
    """Everything a session said in this run is in the read model (live: its last final;
    settled: its last settled window)."""

    run_id: str
    session_id: str
    platform: str | None = None
    native_meeting_id: str | None = None


# tenants (compacted; keyed by the entity, not a meeting)


@dataclass(frozen=True, kw_only=True)
class ApiKeyIssued(Event):
    """A tenant's API key: only its id and SHA-256 hash, never the key itself."""

    meeting_id: str = ""  # about no meeting
    key_id: str
    key_hash: str
    label: str = ""

    def __post_init__(self) -> None:
        if len(self.key_hash) != 64 or not all(c in "0123456789abcdef" for c in self.key_hash):
            raise ValueError("key_hash must be 64 lowercase hex digits (SHA-256)")


@dataclass(frozen=True, kw_only=True)
class ApiKeyRevoked(Event):
    meeting_id: str = ""
    key_id: str


@dataclass(frozen=True, kw_only=True)
class TenantUpserted(Event):
    """Creates the tenant, or changes the fields given (None leaves one as it is)."""

    meeting_id: str = ""
    name: str | None = None
    email: str | None = None
    max_concurrent_bots: int | None = None
    webhook_url: str | None = None  # "" removes the webhook
    webhook_secret: str | None = None


TenantEvent = ApiKeyIssued | ApiKeyRevoked | TenantUpserted


# meetings.keys (compacted; a session's data key under "<meeting>/<session>", the erasure under
# "<meeting>"): what makes a meeting's audio readable, and the record that it never will be again


@dataclass(frozen=True, kw_only=True)
class DataKeyIssued(Event):
    """A capture session's data key, wrapped by the master key; its frames are sealed with it."""

    session_id: str
    wrapped_key: bytes


@dataclass(frozen=True, kw_only=True)
class MeetingShredded(Event):
    """The meeting was erased: its data keys are destroyed and none is ever accepted again."""


KeyEvent = DataKeyIssued | MeetingShredded
