"""The read model: Redis keys, the records the API serves, reducer rules, and the store."""

from __future__ import annotations

from stenograph.readmodel.keys import RedisKeys
from stenograph.readmodel.records import NO_WORDS, Meeting, Segment, Transcript
from stenograph.readmodel.reducer import (
    audio_index_entry,
    health_entry,
    run_entry,
    segment_record,
    segment_words,
    should_store_segment,
    status_fields,
    transcript_segment,
    transcript_segments,
)
from stenograph.readmodel.store import ACTIVE_STATES, ReadStore, utc_time

__all__ = [
    "ACTIVE_STATES",
    "NO_WORDS",
    "Meeting",
    "ReadStore",
    "RedisKeys",
    "Segment",
    "Transcript",
    "audio_index_entry",
    "health_entry",
    "run_entry",
    "segment_record",
    "segment_words",
    "should_store_segment",
    "status_fields",
    "transcript_segment",
    "transcript_segments",
    "utc_time",
]
