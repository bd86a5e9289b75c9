"""Bytes the pipeline writes to Kafka for one meeting, per topic, and per meeting-hour.

One recorded stand-up (tests/data/meetings/standup.wav, 63 s) is streamed in real time through
transcriber, aggregator and API until its settled transcript is complete; then every record of
the meeting on each topic is read back and its key and value bytes counted.

The aggregator's own changelogs (its Faust tables) are counted too. Per meeting-hour: topics
whose records do not grow with the meeting scale with its length; a
topic of whole-transcript snapshots grows with length squared (each snapshot holds everything
said so far, and their number grows with the length too), so it is scaled by (3600 / T)^2.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack
from typing import Any

from stenograph.capture.stream import stream_file
from stenograph.runtime.settings import CommonSettings
from stenograph.schemas.meetings import parse_meeting_ref
from stenograph.schemas.topics import REGISTRY, STATE_TOPICS, TRANSCRIPTS
from tests.bench.live import started_pipeline
from tests.support import DATA, Pipeline, read_all

RECORDING = DATA / "meetings" / "standup.wav"
SNAPSHOT_TOPICS = {TRANSCRIPTS}  # whole transcripts per record


async def _settled(p: Pipeline, meeting: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    async with p.client() as client:
        while time.monotonic() < deadline:
            r = await client.get(f"/meetings/{meeting}/runs")
            if r.status_code == 200 and any(run["run_id"] == "settled" and run["state"] == "completed"
                                            for run in r.json()["runs"]):
                return
            await asyncio.sleep(0.5)
    raise TimeoutError(f"{meeting}: settled transcript not complete in {timeout_s} s")


async def _measure(p: Pipeline, meeting: str) -> dict[str, Any]:
    settings = CommonSettings(kafka_bootstrap_servers=p.infra.bootstrap, redis_url=p.infra.redis_url,
                              topic_prefix=p.prefix)
    outcome = await stream_file(RECORDING, parse_meeting_ref(meeting), settings, realtime=True)
    await _settled(p, meeting)
    await asyncio.sleep(6)  # a throttled snapshot still due is written by now
    duration_s = outcome.result.audio_seconds
    key = outcome.meeting_id.encode()
    topics: dict[str, Any] = {}
    for base in [*REGISTRY, *STATE_TOPICS]:
        name = p.topic(base) if base in REGISTRY else f"{p.prefix}{base}"
        # the aggregator's tables key by "tenant/meeting/…" (JSON), the contract by meeting id
        records = [r for r in await read_all(p.infra.bootstrap, name, timeout=30)
                   if r.key == key or (base in STATE_TOPICS and key in (r.key or b""))]
        size = sum(len(r.key or b"") + len(r.value or b"") for r in records)
        scale = (3600 / duration_s) ** (2 if base in SNAPSHOT_TOPICS else 1)
        topics[base] = {"records": len(records), "bytes": size, "bytes_per_meeting_hour": round(size * scale)}
    besides_audio = sum(t["bytes_per_meeting_hour"] for b, t in topics.items() if b != "meetings.audio")
    return {"meeting_s": round(duration_s, 1), "topics": topics,
            "bytes_per_meeting_hour_besides_audio": besides_audio}


def bench_kafka_bytes() -> dict[str, Any]:
    with ExitStack() as stack:
        p = started_pipeline(stack)
        result = asyncio.run(_measure(p, "zoom/bench-bytes"))
    return {"name": "kafka_bytes_per_meeting", "recording": RECORDING.name, **result}
