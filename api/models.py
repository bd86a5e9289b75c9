"""HTTP shapes (Vexa-compatible field names); meetings and transcripts are the read model's records."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from stenograph.readmodel import Meeting, Segment, Transcript
from stenograph.schemas import NATIVE_ID, MeetingUrlError, Platform, Task, check_native_id, language_problem

NativeId = Annotated[str, StringConstraints(pattern=NATIVE_ID.pattern, strip_whitespace=True)]
def _whisper_language(value: str) -> str:
    if (problem := language_problem(value)) is not None:
        raise ValueError(problem)
    return value


Language = Annotated[str, AfterValidator(_whisper_language)]


AutoLeave = Literal["waiting_room_timeout", "no_one_joined_timeout", "everyone_left_timeout",
                   "silence_timeout", "max_duration"]


class BotRequest(BaseModel):
    platform: Platform
    native_meeting_id: NativeId
    passcode: Annotated[str, StringConstraints(max_length=64)] | None = None
    bot_name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    language: Language | None = None
    task: Task = Task.TRANSCRIBE
    automatic_leave: dict[AutoLeave, Annotated[int, Field(ge=0, le=86_400_000)]] | None = Field(
        None, description="milliseconds; defaults: waiting_room_timeout 600000, no_one_joined_timeout "
        "600000, everyone_left_timeout 60000, silence_timeout 900000, max_duration 14400000")

    @field_validator("native_meeting_id")
    @classmethod
    def _joinable_id(cls, value: str, info: ValidationInfo) -> str:
        """A bot can only join a meeting id the platform can have (a Meet code, Zoom digits...)."""
        platform = info.data.get("platform")
        if platform is not None:
            try:
                check_native_id(str(platform), value)
            except MeetingUrlError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _teams_passcode(self) -> BotRequest:
        if self.platform == Platform.TEAMS and not self.passcode:
            raise ValueError("passcode: a Teams meeting id needs its passcode (the p= of the link)")
        return self


class MeetingList(BaseModel):
    meetings: list[Meeting]


class MeetingDataPatch(BaseModel):
    data: dict[str, Any] = Field(description="keys given replace the stored ones; at most 16 KiB as JSON")

    @field_validator("data")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > 16_384:
            raise ValueError("data is larger than 16 KiB as JSON")
        return value


class BotConfig(BaseModel):
    language: Language | None = None
    task: Task | None = None

    @model_validator(mode="after")
    def _something(self) -> BotConfig:
        if self.language is None and self.task is None:
            raise ValueError("give language, task or both")
        return self


class BotStatusList(BaseModel):
    running_bots: list[Meeting]


class Accepted(BaseModel):
    message: str
    id: str | None = None


class ReplayRequest(BaseModel):
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "tiny.en"
    language: Language | None = None
    task: Task = Task.TRANSCRIBE


class Run(BaseModel):
    run_id: str
    state: str
    model: str
    language: str | None
    task: str
    progress: float = Field(description="0..1 of the run's audio")
    progress_percent: float
    eta_s: float | None
    audio_s: float
    segments: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    is_default: bool = False


class RunList(BaseModel):
    meeting_id: str
    default_run: str
    default_reason: str = Field(description="selected (PUT default_run), settled or live")
    runs: list[Run]


class DefaultRun(BaseModel):
    run_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


TenantId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class TenantCreate(BaseModel):
    id: TenantId | None = Field(None, description="default: generated")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    email: Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    max_concurrent_bots: Annotated[int, Field(ge=0, le=10_000)] = 5


class TenantUpdate(BaseModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    email: Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    max_concurrent_bots: Annotated[int, Field(ge=0, le=10_000)] | None = None


class TokenInfo(BaseModel):
    id: str
    user_id: str
    label: str = ""
    created_at: datetime | None = None
    revoked: bool = False


class TokenCreated(TokenInfo):
    token: str = Field(description="the API key; shown this once, only its hash is kept")


class TokenRequest(BaseModel):
    label: Annotated[str, StringConstraints(max_length=200)] = ""


class Tenant(BaseModel):
    id: str
    name: str
    email: str | None = None
    max_concurrent_bots: int
    created_at: datetime | None = None
    tokens: list[TokenInfo] = Field(default_factory=list)


class TenantList(BaseModel):
    users: list[Tenant]


class WebhookRequest(BaseModel):
    webhook_url: Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class Webhook(BaseModel):
    webhook_url: str | None
    webhook_secret: str | None = Field(
        None, description="signs every delivery (X-Stenograph-Signature); shown when the URL is set")


class WebhookDelivery(BaseModel):
    delivery_id: str
    event: str
    url: str
    attempts: int
    status_code: int | None
    ok: bool
    error: str | None
    at: datetime


class WebhookDeliveries(BaseModel):
    deliveries: list[WebhookDelivery]


__all__ = ["Meeting", "Platform", "Segment", "Task", "Transcript"]  # re-exported for the routes


class LiveTicket(BaseModel):
    ticket: str = Field(description="for `GET /sse?ticket=`; signed, names the tenant")
    expires_in_s: int
