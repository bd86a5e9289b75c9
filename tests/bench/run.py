"""`make bench`: measurements on this machine, printed as a table and written as JSON.

Nothing here passes or fails on a time; the README records the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import zlib
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from stenograph.capture.audio import SessionInfo, split_frames
from stenograph.capture.decode import decode_to_pcm16
from stenograph.schemas.codec import codec
from stenograph.schemas.events import AudioFrame
from stenograph.schemas.topics import AUDIO
from tests.support import DATA, Pipeline, make_pipeline, start_local_infra

RESULTS = Path("bench-results")


def bench_codec(n: int = 50_000) -> dict[str, Any]:
    """AudioFrame encode + decode on one core (100 ms frames, 3200-byte payloads)."""
    c = codec(AUDIO)
    payload = os.urandom(3200)
    frame = AudioFrame(tenant_id="t", meeting_id="m" * 32, session_id="s" * 32, seq=1,
                       capture_time_ns=time.time_ns(), session_started_at_ns=time.time_ns(),
                       sample_rate=16000, channels=1, payload=payload, crc32=zlib.crc32(payload))
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            c.decode(c.encode(frame))
        runs.append(n / (time.perf_counter() - t0))
    return {"name": "audioframe_codec", "frames_per_s": round(statistics.median(runs)),
            "target_frames_per_s": 10_000}


async def _latency_once(p: Pipeline, meeting: str) -> float:
    """Stream jfk in real time; seconds from the last frame acked to its final text in the API."""
    from stenograph.capture.stream import stream_file
    from stenograph.runtime.settings import CommonSettings
    from stenograph.schemas.meetings import parse_meeting_ref

    settings = CommonSettings(kafka_bootstrap_servers=p.infra.bootstrap, redis_url=p.infra.redis_url,
                              topic_prefix=p.prefix)
    outcome = await stream_file(DATA / "jfk.flac", parse_meeting_ref(meeting), settings, realtime=True)
    async with p.client() as client:
        while True:
            r = await client.get(f"/transcripts/{meeting}")
            if r.status_code == 200:
                body = r.json()
                if body["id"] == outcome.meeting_id and any(
                    s["completed"] and "country" in s["text"].lower() and s["end"] > 9.0
                    for s in body["segments"]
                ):
                    return (time.time_ns() - outcome.result.last_frame_acked_ns) / 1e9
            await asyncio.sleep(0.02)


def bench_latency(runs: int = 5) -> dict[str, Any]:
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())  # removed last, after the stops
        infra = start_local_infra(stack, Path(tmp) / "infra")
        p = make_pipeline(infra, Path(tmp) / "pipeline")
        stack.callback(p.stop)
        p.start()
        samples = [asyncio.run(_latency_once(p, f"zoom/bench-latency-{i}")) for i in range(runs)]
    return {"name": "last_frame_to_final_segment_s", "runs": runs,
            "median_s": round(statistics.median(samples), 3), "max_s": round(max(samples), 3),
            "samples_s": [round(s, 3) for s in samples], "recording": "jfk.flac, --realtime"}


def bench_decode() -> dict[str, Any]:
    t0 = time.perf_counter()
    pcm = decode_to_pcm16(DATA / "ami_dev00.wav")
    frames = sum(1 for _ in split_frames(pcm, SessionInfo(tenant_id="t", meeting_id="m", session_id="s",
                                                          started_at_ns=0)))
    return {"name": "decode_and_frame_30s_wav_s", "seconds": round(time.perf_counter() - t0, 3),
            "frames": frames}


def main() -> None:
    from stenograph.schemas import new_master_key
    from tests.bench.api_load import bench_api_load
    from tests.bench.bots import bench_bots
    from tests.bench.floor import bench_floor
    from tests.bench.gateway import bench_gateway
    from tests.bench.kafka_bytes import bench_kafka_bytes
    from tests.bench.live import bench_live
    from tests.bench.overhead import bench_overhead
    from tests.bench.peers import bench_peers
    from tests.bench.policy import bench_policy
    from tests.bench.quality import bench_quality
    from tests.bench.replay import bench_replay

    benches = {"codec": bench_codec, "decode": bench_decode, "latency": bench_latency,
               "live": bench_live, "quality": bench_quality,
               "quality-agree": partial(bench_quality, policy="agree"), "gateway": bench_gateway,
               "overhead": bench_overhead,
               "replay": bench_replay, "api": bench_api_load, "bots": bench_bots,
               "peers": bench_peers, "bytes": bench_kafka_bytes, "policy": bench_policy,
               "floor": bench_floor}
    # peers needs its own virtualenvs first (tests/bench/peers_setup.sh): asked for by name only
    chosen = sys.argv[1:] or [name for name in benches if name != "peers"]
    # one master key for every process the benchmarks start, as a deployment has one
    os.environ.setdefault("STENOGRAPH_SECRET_KEY", new_master_key())
    results = [benches[name]() for name in chosen]
    meta = {"machine": f"{platform.machine()} {os.cpu_count()} cores", "python": platform.python_version(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("latest.json" if not sys.argv[1:] else f"latest-{'-'.join(chosen)}.json")
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    print(f"{'benchmark':38} result")
    for r in results:
        figures = {k: v for k, v in r.items() if k != "name"}
        print(f"{r['name']:38} {json.dumps(figures)}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
