"""Pure reducers: (stored state, event) -> what to store. No I/O here."""

from __future__ import annotations

from typing import Any

from stenograph.schemas import (
    SETTLED_RUN,
    AudioHealth,
    AudioSessionIndexed,
    BotStatusChanged,
    RunProgress,
    SegmentEvent,
    TranscriptSegment,
)


def segment_words(event: SegmentEvent) -> list[dict[str, Any]]:
    """Word timings, stored apart from the segment: transcript reads never parse them."""
    return [{"word": w.word, "start": w.start_s, "end": w.end_s, "probability": w.probability}
            for w in event.words]


def segment_record(event: SegmentEvent, speaker_mapping: str | None = None) -> dict[str, Any]:
    """The stored (and served) shape of one segment (its words are kept beside it)."""
    return {
        "segment_id": event.segment_id,
        "run_id": event.run_id,
        "session_id": event.session_id,
        "revision": event.revision,
        "completed": event.completed,
        "start": event.start_s,
        "end": event.end_s,
        "absolute_start_time_ns": event.start_time_ns,
        "absolute_end_time_ns": event.end_time_ns,
        "text": event.text,
        "language": event.language,
        "speaker": event.speaker,
        "speaker_mapping": speaker_mapping,
        "model": event.model,
        "seq_first": event.seq_first,
        "seq_last": event.seq_last,
    }


def should_store_segment(stored: dict[str, Any] | None, event: SegmentEvent) -> bool:
    """Latest revision wins; a completed segment never changes afterwards.

    Re-delivering the same revision rewrites identical content, so replays are idempotent.
    """
    if stored is None:
        return not event.retires  # nothing to retire
    if stored.get("completed"):
        return False
    return event.revision >= int(stored.get("revision", -1))


def status_fields(stored_updated_ns: int | None, event: BotStatusChanged) -> dict[str, str] | None:
    """Meeting hash fields for a status change, or None when the event is older than what we have."""
    if stored_updated_ns is not None and event.event_time_ns < stored_updated_ns:
        return None
    fields = {
        "platform": event.platform,
        "native_meeting_id": event.native_meeting_id,
        "status": str(event.state),
        "reason": event.reason,
        "sub_code": event.sub_code or "",
        "status_updated_ns": str(event.event_time_ns),
    }
    if event.session_id:
        fields["session_id"] = event.session_id
    return fields


def health_entry(stored: dict[str, Any] | None, event: AudioHealth) -> dict[str, Any]:
    """Counts per kind, keyed by event id so a re-delivery is not counted twice."""
    entry = dict(stored or {"count": 0, "event_ids": []})
    ids = list(entry.get("event_ids", []))
    if event.event_id not in ids:
        ids = [*ids, event.event_id][-50:]
        entry["count"] = int(entry.get("count", 0)) + 1
    entry.update(
        event_ids=ids, kind=str(event.kind), seq_first=event.seq_first, seq_last=event.seq_last,
        detail=event.detail, at_ns=event.event_time_ns,
    )
    return entry


def visible(stored: dict[str, Any]) -> bool:
    """Segments without text are unseen: retired interims (stored so re-deliveries cannot
    revive them) and an open interim whose words all became final."""
    return bool(stored.get("text"))


def transcript_segment(s: dict[str, Any]) -> TranscriptSegment:
    """A stored segment as the transcript topics carry it."""
    return TranscriptSegment(
        segment_id=s["segment_id"], start_s=s["start"], end_s=s["end"],
        start_time_ns=s["absolute_start_time_ns"], end_time_ns=s["absolute_end_time_ns"],
        text=s["text"], completed=s["completed"], speaker=s.get("speaker"),
        language=s.get("language"),
    )


def transcript_segments(stored: list[dict[str, Any]]) -> tuple[TranscriptSegment, ...]:
    """A run's stored segments in display order, as the snapshots carry them."""
    ordered = sorted((s for s in stored if visible(s)), key=lambda s: (s["start"], s["segment_id"]))
    return tuple(transcript_segment(s) for s in ordered)


def merge_settled(settled: list[dict[str, Any]], live: list[dict[str, Any]],
                  horizon: dict[str, float]) -> list[dict[str, Any]]:
    """The default transcript: settled segments, and the live ones of each session that lie
    mostly past where its settling stopped (all of a session that has settled nothing yet), in
    display order."""
    tail = [s for s in live
            if (s["start"] + s["end"]) / 2 >= horizon.get(s["session_id"], float("-inf"))]
    return sorted([*settled, *tail], key=lambda s: (s["start"], s["run_id"] != SETTLED_RUN, s["segment_id"]))


def audio_index_entry(stored: dict[str, Any] | None, event: AudioSessionIndexed) -> dict[str, Any]:
    """Merge what is known of a session's range: earliest first offset, latest last offset."""
    entry = dict(stored or {})
    last = [o for o in (entry.get("last_offset"), event.last_offset) if o is not None]
    firsts = [o for o in (entry.get("first_offset"), event.first_offset) if o is not None]
    entry.update(
        topic=event.topic, partition=event.partition, first_offset=min(firsts),
        last_offset=max(last) if last else None,
        frames=max(int(entry.get("frames", 0)), event.frames),
        audio_s=max(float(entry.get("audio_s", 0.0)), event.audio_s),
        started_at_ns=event.started_at_ns,
    )
    return entry


# A run only moves forward: requested (asked by the API's clock) -> running -> ended (the
# replayer's clock). Ordering by stage first keeps the listing right under clock skew between
# the two machines and makes equal event times order-insensitive.
RUN_STAGE = {"live": 0, "requested": 0, "running": 1, "completed": 2, "failed": 2}


def _run_order(state: str, time_ns: int) -> tuple[int, int, str]:
    return RUN_STAGE.get(state, 1), time_ns, state


def run_entry(stored: dict[str, Any] | None, event: RunProgress) -> dict[str, Any] | None:
    """A run's listing entry: the furthest, then latest, event wins; None when nothing changes."""
    if stored is not None and _run_order(str(stored.get("state")), int(stored.get("updated_ns", 0))) > \
            _run_order(event.state, event.event_time_ns):
        created = min(int(stored.get("created_ns", event.event_time_ns)), event.event_time_ns)
        return None if created == int(stored.get("created_ns", 0)) else {**stored, "created_ns": created}
    if stored is not None and stored.get("state") == "live" and event.state == "live":
        # the live run is registered once; later it only learns of an error
        if event.error is None or event.error == stored.get("error"):
            return None
        return {**stored, "error": event.error, "updated_ns": event.event_time_ns}
    created = event.event_time_ns
    if stored is not None:
        created = min(created, int(stored.get("created_ns", created)))
    return {
        "run_id": event.run_id, "state": event.state, "model": event.model,
        "language": event.language, "task": event.task, "progress": event.progress,
        "eta_s": event.eta_s, "audio_s": event.audio_s, "segments": event.segments,
        "error": event.error, "created_ns": created, "updated_ns": event.event_time_ns,
    }
