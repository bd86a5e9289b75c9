"""The read model's records as the API serves them (Vexa-compatible field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Meeting(BaseModel):
    id: str
    platform: str | None
    native_meeting_id: str | None
    status: str
    reason: str | None = None
    created_at: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    audio_health: dict[str, dict[str, object]] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict, description="the caller's own data (PATCH)")



class Word(BaseModel):
    word: str
    start: float = Field(description="seconds from the session's start, as the segment's")
    end: float
    probability: float


class Segment(BaseModel):
    segment_id: str
    start: float
    end: float
    text: str
    language: str | None
    speaker: str | None
    speaker_mapping: str | None = Field(
        None, description="how the speaker was found: mapped, multiple (others spoke too), unknown")
    completed: bool
    absolute_start_time: datetime
    absolute_end_time: datetime
    run_id: str = Field("live", description="the run the segment comes from: in the default "
                        "transcript, settled (the settling pass) or live (not settled yet)")
    words: list[Word] | None = Field(None, description="the model's word timings of a completed "
                                     "segment (?words=true)")


# a transcript dumped without its segments' word timings (asked for with ?words=true only)
NO_WORDS = {"segments": {"__all__": {"words"}}}


class Transcript(Meeting):
    run_id: str = "live"
    segments: list[Segment]
