"""Reads of the Redis read model (layout in schemas/redis_keys.py), always within one tenant."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from stenograph.readmodel.keys import RedisKeys
from stenograph.readmodel.records import Meeting, Segment, Transcript, Word
from stenograph.readmodel.reducer import merge_settled, transcript_segments, visible
from stenograph.schemas import LIVE_RUN, SETTLED_RUN, TranscriptSegment, key_id_of, verify

ACTIVE_STATES = {"requested", "joining", "awaiting_admission", "active", "leaving"}


def utc_time(ns: str | int | None) -> datetime | None:
    if ns in (None, ""):
        return None
    return _utc(int(ns))


def _utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


class ReadStore:
    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def tenant_for_key(self, key: str) -> str | None:
        """The tenant of a live API key; None for malformed, unknown or revoked keys."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        stored = await self.redis.hgetall(self.keys.api_key(key_id))
        if not stored or stored.get("revoked_ns") or not verify(key, str(stored.get("key_hash", ""))):
            return None
        return str(stored["tenant_id"])

    async def tenant(self, tenant: str) -> dict[str, str] | None:
        raw = await self.redis.hgetall(self.keys.tenant(tenant))
        return {str(k): str(v) for k, v in raw.items()} if raw else None

    async def tenant_ids(self) -> list[str]:
        return sorted(str(t) for t in await self.redis.smembers(self.keys.tenants()))

    async def api_key(self, key_id: str) -> dict[str, str] | None:
        raw = await self.redis.hgetall(self.keys.api_key(key_id))
        return {str(k): str(v) for k, v in raw.items()} if raw else None

    async def resolve(self, tenant: str, platform: str, native_id: str) -> str | None:
        raw = await self.redis.get(self.keys.native(tenant, platform, native_id))
        return str(raw) if raw else None

    async def meeting_by_ref(self, tenant: str, platform: str, native_id: str) -> Meeting | None:
        """The tenant's meeting by its platform reference; None when missing, foreign or erased."""
        meeting_id = await self.resolve(tenant, platform, native_id)
        return None if meeting_id is None else await self.meeting(tenant, meeting_id)

    async def running_bots(self, tenant: str) -> list[Meeting]:
        return [m for m in await self.meetings(tenant, 1000) if m.status in ACTIVE_STATES]

    async def meeting(self, tenant: str, meeting_id: str) -> Meeting | None:
        found = await self._meetings(tenant, [meeting_id])
        return found[0] if found else None

    async def meetings(self, tenant: str, limit: int = 100) -> list[Meeting]:
        ids = await self.redis.zrevrange(self.keys.meetings(tenant), 0, limit - 1)
        return await self._meetings(tenant, [str(mid) for mid in ids])

    async def _meetings(self, tenant: str, ids: list[str]) -> list[Meeting]:
        """Meetings by id in one round trip; ids without a meeting hash are left out."""
        pipe = self.redis.pipeline(transaction=False)
        for mid in ids:
            pipe.hgetall(self.keys.meeting(tenant, mid))
            pipe.hgetall(self.keys.health(tenant, mid))
            pipe.zscore(self.keys.meetings(tenant), mid)
        replies = await pipe.execute()
        out = []
        for i, mid in enumerate(ids):
            raw, health_raw, created_us = replies[3 * i : 3 * i + 3]
            if raw:
                out.append(_meeting(mid, cast(dict[str, str], raw), health_raw, created_us))
        return out

    async def runs(self, tenant: str, meeting_id: str) -> list[dict[str, Any]]:
        raw = await self.redis.hvals(self.keys.runs(tenant, meeting_id))
        return sorted((json.loads(r) for r in raw), key=lambda r: (r["created_ns"], r["run_id"]))

    async def audio_index(self, tenant: str, meeting_id: str) -> dict[str, dict[str, Any]]:
        raw = await self.redis.hgetall(self.keys.audio(tenant, meeting_id))
        return {str(k): json.loads(v) for k, v in raw.items()}

    async def default_run(self, tenant: str, meeting_id: str) -> str:
        return (await self.default_run_why(tenant, meeting_id))[0]

    async def default_run_why(self, tenant: str, meeting_id: str) -> tuple[str, str]:
        """The run the meeting's transcript shows by default, and why."""
        run = await self.redis.hget(self.keys.meeting(tenant, meeting_id), "default_run")
        if run:
            return str(run), "selected"
        if await self.redis.exists(self.keys.settled(tenant, meeting_id)):
            return SETTLED_RUN, "settled"  # the settling pass has text; the live tail follows it
        return LIVE_RUN, "live"  # nothing settled yet

    async def live_segments(self, tenant: str, meeting_id: str,
                            run_id: str = LIVE_RUN) -> tuple[TranscriptSegment, ...]:
        """A run's visible segments (the live run's by default), as the transcripts topic
        carries them."""
        raw = await self.redis.hvals(self.keys.segments(tenant, meeting_id, run_id))
        return transcript_segments([orjson.loads(r) for r in raw])

    async def transcript(self, tenant: str, meeting_id: str, run_id: str, *,
                         words: bool = False) -> Transcript | None:
        meeting = await self.meeting(tenant, meeting_id)
        if meeting is None:
            return None
        stored = await self._run_segments(tenant, meeting_id, run_id)
        if run_id == SETTLED_RUN:  # the settled text, then the live text it has not reached yet
            rows = await self.redis.zrange(self.keys.settled(tenant, meeting_id), 0, -1,
                                           withscores=True)
            horizon = {str(k): float(v) for k, v in cast(list[tuple[str, float]], rows)}
            stored = merge_settled(stored, await self._run_segments(tenant, meeting_id, LIVE_RUN),
                                   horizon)
        segments = [_segment(s) for s in stored]
        if words:
            await self._attach_words(tenant, meeting_id, segments)
        return Transcript(**meeting.model_dump(), run_id=run_id, segments=segments)

    async def _attach_words(self, tenant: str, meeting_id: str, segments: list[Segment]) -> None:
        """Each completed segment's word timings, from its own run's hash (a default transcript
        mixes the settled run and the live tail); one the model gave no words gets an empty
        list. An open interim gets none: its words change with every revision, and a read of
        them apart from its text could pair two revisions."""
        by_run: dict[str, list[Segment]] = {}
        for s in segments:
            if s.completed:
                by_run.setdefault(s.run_id, []).append(s)
        for run_id, group in by_run.items():
            raw = await self.redis.hmget(self.keys.words(tenant, meeting_id, run_id),
                                         [s.segment_id for s in group])
            for s, r in zip(group, raw, strict=True):
                s.words = [Word(**w) for w in orjson.loads(r)] if r else []

    async def _run_segments(self, tenant: str, meeting_id: str, run_id: str) -> list[dict[str, Any]]:
        """A run's visible segments in display order."""
        order = await self.redis.zrange(self.keys.order(tenant, meeting_id, run_id), 0, -1)
        key = self.keys.segments(tenant, meeting_id, run_id)
        raw = await self.redis.hmget(key, cast(list[str], order)) if order else []
        return [s for r in raw if r and visible(s := orjson.loads(r))]


def _meeting(meeting_id: str, h: dict[str, str], health_raw: dict[str, str],
             created_us: float | None) -> Meeting:
    health = {}
    for k, v in health_raw.items():
        entry = json.loads(v)
        entry.pop("event_ids", None)
        health[str(k)] = entry
    status = h.get("status", "requested")
    return Meeting(
        id=meeting_id, platform=h.get("platform"), native_meeting_id=h.get("native_meeting_id"),
        status=status, reason=h.get("reason") or None,
        created_at=utc_time(int(created_us) * 1000 if created_us is not None else None),
        start_time=utc_time(h.get("start_ns")),
        end_time=None if status in ACTIVE_STATES else utc_time(h.get("status_updated_ns")),
        audio_health=health, data=json.loads(h["data"]) if h.get("data") else {},
    )


def _segment(s: dict[str, Any]) -> Segment:
    return Segment(
        segment_id=s["segment_id"], start=s["start"], end=s["end"], text=s["text"],
        language=s.get("language"), speaker=s.get("speaker"),
        speaker_mapping=s.get("speaker_mapping"), completed=s["completed"],
        absolute_start_time=_utc(s["absolute_start_time_ns"]),
        absolute_end_time=_utc(s["absolute_end_time_ns"]), run_id=s.get("run_id", LIVE_RUN),
    )
