"""Pipeline overhead without the model.

frame → worker: AudioFrames published one by one (as capture does, paced at 100 ms) and read
by a consumer like the transcriber's; latency from send to receipt.
segment → API: final SegmentEvents produced as the transcriber does; latency from send to the
first API response that shows the segment (aggregator + Redis + API), polled every 5 ms.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from stenograph.runtime.kafka import reliable_producer
from stenograph.runtime.readers import TopicReader
from stenograph.schemas.codec import codec, key_of
from stenograph.schemas.events import AudioFrame, BotState, BotStatusChanged, SegmentEvent
from stenograph.schemas.topics import AUDIO, LIFECYCLE, SEGMENTS
from tests.support import Pipeline, make_pipeline, start_local_infra


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 2)


async def _frames(p: Pipeline, n: int = 300) -> list[float]:
    producer = reliable_producer(p.infra.bootstrap)
    reader = TopicReader(p.infra.bootstrap, [p.topic(AUDIO)])
    await producer.start()
    await reader.__aenter__()
    payload = bytes(3200)
    sent: dict[int, float] = {}
    got: list[float] = []

    async def receive() -> None:
        while len(got) < n:
            records = await reader.batch()
            now = time.perf_counter()
            for r in records:
                frame = codec(AUDIO).decode(r.value)
                if frame.seq in sent:
                    got.append(now - sent[frame.seq])

    task = asyncio.create_task(receive())
    for seq in range(n):
        frame = AudioFrame(tenant_id="local", meeting_id="overhead", session_id="o", seq=seq,
                           capture_time_ns=time.time_ns(), session_started_at_ns=0, sample_rate=16000,
                           channels=1, payload=payload, crc32=zlib.crc32(payload))
        sent[seq] = time.perf_counter()
        await producer.send_and_wait(p.topic(AUDIO), codec(AUDIO).encode(frame), key=key_of(frame))
        await asyncio.sleep(0.1)
    await asyncio.wait_for(task, 30)
    await reader.__aexit__(None, None, None)
    await producer.stop()
    return got


async def _segments(p: Pipeline, n: int = 100) -> list[float]:
    producer = reliable_producer(p.infra.bootstrap)
    await producer.start()
    meeting_id = uuid.uuid4().hex
    status = BotStatusChanged(tenant_id="local", meeting_id=meeting_id, state=BotState.ACTIVE,
                              reason="bench", platform="zoom", native_meeting_id="overhead")
    await producer.send_and_wait(p.topic(LIFECYCLE), codec(LIFECYCLE).encode(status), key=key_of(status))
    await asyncio.sleep(1.0)
    out: list[float] = []
    async with p.client() as c:
        for i in range(n):
            seg = SegmentEvent(tenant_id="local", meeting_id=meeting_id, run_id="live", session_id="o",
                               segment_id=f"o-{i}-0", revision=0, completed=True, start_s=float(i),
                               end_s=i + 0.5, start_time_ns=0, end_time_ns=1, text=f"word{i}",
                               model="none", seq_first=i, seq_last=i)
            t0 = time.perf_counter()
            await producer.send_and_wait(p.topic(SEGMENTS), codec(SEGMENTS).encode(seg), key=key_of(seg))
            while True:
                body = (await c.get("/transcripts/zoom/overhead")).json()
                if body["segments"] and body["segments"][-1]["segment_id"] == seg.segment_id:
                    out.append(time.perf_counter() - t0)
                    break
                await asyncio.sleep(0.005)
    await producer.stop()
    return out


def bench_overhead() -> dict[str, Any]:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        infra = start_local_infra(stack, tmp / "infra")
        p = make_pipeline(infra, tmp / "pipeline")
        stack.callback(p.stop)
        p.start("aggregator", "api")
        frames = asyncio.run(_frames(p))
        segments = asyncio.run(_segments(p))
    return {"name": "pipeline_overhead_ms",
            "frame_to_worker": {"p50": _pct(frames, 50), "p99": _pct(frames, 99), "n": len(frames)},
            "segment_to_api": {"p50": _pct(segments, 50), "p99": _pct(segments, 99), "n": len(segments)},
            "target_p99_ms": 50}
