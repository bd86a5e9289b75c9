"""API under load: GET /transcripts of a one-hour meeting, measured with wrk on this machine.

The meeting: 720 final segments of 5 s (about 14 words each), as a transcriber would emit them,
materialized by the real aggregator. One API worker (uvicorn, one process) with the request rate
limit off; wrk runs 2 threads and 16 connections for 20 s after a 3 s warm-up.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from stenograph.runtime.kafka import reliable_producer
from stenograph.schemas.codec import codec, key_of
from stenograph.schemas.events import BotState, BotStatusChanged, SegmentEvent, Word
from stenograph.schemas.topics import LIFECYCLE, SEGMENTS
from tests.support import Pipeline, make_pipeline, start_local_infra

SEGMENTS_PER_HOUR = 720
TEXT = "and so my fellow americans ask not what your country can do for you ask what you can"


async def _one_hour_meeting(p: Pipeline, native: str) -> None:
    producer = reliable_producer(p.infra.bootstrap)
    await producer.start()
    meeting_id, t0 = uuid.uuid4().hex, time.time_ns()
    status = BotStatusChanged(tenant_id="local", meeting_id=meeting_id, state=BotState.COMPLETED,
                              reason="bench", platform="zoom", native_meeting_id=native)
    await producer.send_and_wait(p.topic(LIFECYCLE), codec(LIFECYCLE).encode(status), key=key_of(status))
    words = TEXT.split()
    for i in range(SEGMENTS_PER_HOUR):
        start = i * 5.0
        seg = SegmentEvent(
            tenant_id="local", meeting_id=meeting_id, run_id="live", session_id="bench",
            segment_id=f"bench-{i}-0", revision=0, completed=True, start_s=start, end_s=start + 4.8,
            start_time_ns=t0 + int(start * 1e9), end_time_ns=t0 + int((start + 4.8) * 1e9),
            text=" ".join(words), model="tiny.en", seq_first=i * 50, seq_last=i * 50 + 49,
            words=tuple(Word(word=f" {w}", start_s=start + j * 0.3, end_s=start + j * 0.3 + 0.25,
                             probability=0.9) for j, w in enumerate(words)),
            language="en")
        await producer.send(p.topic(SEGMENTS), codec(SEGMENTS).encode(seg), key=key_of(seg))
    await producer.flush()
    await producer.stop()


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def bench_api_load(seconds: int = 20) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: run `make setup`")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        infra = start_local_infra(stack, tmp / "infra")
        p = make_pipeline(infra, tmp / "pipeline", extra_env={"STENOGRAPH_API_RATE_PER_S": "0"})
        stack.callback(p.stop)
        p.start("aggregator", "api")
        native = "bench-hour"
        asyncio.run(_one_hour_meeting(p, native))
        asyncio.run(p.idle())
        url = f"{p.api_url}/transcripts/zoom/{native}"
        args = [wrk, "-t2", "-c16", "--latency", "-H", f"X-API-Key: {p.api_key}", url]
        subprocess.run([*args[:4], "-d3s", *args[4:]], capture_output=True, check=True)  # warm-up
        out = subprocess.run([*args[:4], f"-d{seconds}s", *args[4:]], capture_output=True, text=True,
                             check=True).stdout
        single = subprocess.run([wrk, "-t1", "-c1", "--latency", "-d10s", *args[4:]], capture_output=True,
                                text=True, check=True).stdout
        body_bytes = len(subprocess.run(["curl", "-s", "-H", f"X-API-Key: {p.api_key}", url],
                                        capture_output=True, check=True).stdout)
    loaded, alone = _parse(out), _parse(single)
    return {"name": "api_get_transcript_one_hour", "segments": SEGMENTS_PER_HOUR, "body_bytes": body_bytes,
            "one_connection": alone, "sixteen_connections": loaded,
            "load": f"wrk -t1 -c1 -d10s, then wrk -t2 -c16 -d{seconds}s; one uvicorn worker"}


def _parse(out: str) -> dict[str, float]:
    latency = dict(re.findall(r"^\s+(50|75|90|99)(?:\.000)?%\s+(\S+)\s*$", out, re.M))
    if "99" not in latency:
        raise RuntimeError(f"no latency distribution in wrk's output:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"p50_ms": round(_ms(latency["50"]), 1), "p99_ms": round(_ms(latency["99"]), 1),
            "requests_per_s": round(rps, 1), "errors": int(non_2xx.group(1)) if non_2xx else 0}
