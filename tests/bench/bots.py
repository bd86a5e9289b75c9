"""Meeting bots: CPU and memory per bot, how many one machine sustains, and join time.

N bots join N mock Google Meet calls at once (real Chromium, the in-page capture, Kafka). In
each call one participant speaks jfk.flac twice over a WebRTC loopback. While all N are in
their calls, the CPU time and proportional memory (PSS) of the whole bot process tree (bot
processes, Playwright drivers, Chromium) are sampled. A load is sustained when, with every
bot in its call, each bot's captured audio still matches the speech (normalized
cross-correlation >= 0.9 over aligned 1 s windows of the second clip) and every bot stayed
until the meeting ended. The first clip, spoken while the other bots are still starting their
browsers, is reported apart. Join time: JoinRequested to the bot's `active` event, on a
mock page with no lobby (the bot's own work: browser start, page, pre-join, joining).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from stenograph.runtime.kafka import reliable_producer
from stenograph.schemas.codec import codec, key_of
from stenograph.schemas.events import AudioFrame, BotStatusChanged, JoinRequested
from stenograph.schemas.topics import COMMANDS, LIFECYCLE
from tests.integration.test_bots import aligned_similarity, native_id, source_pcm
from tests.mockmeet.server import MockMeetings
from tests.support import Pipeline, make_pipeline, opened_frames, read_events, start_local_infra

IN_CALL_S = 40.0
WINDOW = (8.0, 32.0)  # seconds after all are active: CPU and memory sampled in between


def tree(root: psutil.Process) -> list[psutil.Process]:
    return [root, *root.children(recursive=True)]


def cpu_seconds(procs: list[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            continue
    return out


def pss_mb(procs: list[psutil.Process]) -> float:
    total = 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except psutil.Error:
            continue
    return total / 2**20


async def _send_joins(p: Pipeline, requests: list[JoinRequested]) -> None:
    producer = reliable_producer(p.infra.bootstrap)
    await producer.start()
    try:
        for r in requests:
            await producer.send_and_wait(p.topic(COMMANDS), codec(COMMANDS).encode(r), key=key_of(r))
    finally:
        await producer.stop()


def _load(p: Pipeline, mock: MockMeetings, n: int) -> dict[str, Any]:
    manager = psutil.Process(p.procs["bot-manager"].pid())
    requests = []
    for _ in range(n):
        native, _ = native_id("google_meet")
        mock.scenario(native, lobby="none", end_at_s=IN_CALL_S, participants=[
            {"id": "p1", "name": "John Kennedy", "speak": [{"at_s": 2.0, "audio": "/_mock/jfk.flac"},
                                                          {"at_s": 20.0, "audio": "/_mock/jfk.flac"}]}])
        requests.append(JoinRequested(tenant_id="local", meeting_id=native.replace("-", ""),
                                      platform="google_meet", native_meeting_id=native, bot_name="Bench"))
    ids = {r.meeting_id for r in requests}
    asyncio.run(_send_joins(p, requests))

    def states() -> dict[str, list[BotStatusChanged]]:
        out: dict[str, list[BotStatusChanged]] = defaultdict(list)
        for e in asyncio.run(read_events(p.infra.bootstrap, p.topic(LIFECYCLE), LIFECYCLE)):
            if isinstance(e, BotStatusChanged) and e.meeting_id in ids:
                out[e.meeting_id].append(e)
        return out

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen = states()
        if all(any(str(e.state) == "active" for e in seen[m]) for m in ids):
            break
        time.sleep(0.5)
    all_in = time.monotonic()
    time.sleep(WINDOW[0])
    procs = tree(manager)
    cpu0, t0 = cpu_seconds(procs), time.monotonic()
    mem = pss_mb(procs)
    time.sleep(WINDOW[1] - WINDOW[0])
    procs = tree(manager)
    cpu1, t1 = cpu_seconds(procs), time.monotonic()
    cpu = sum(cpu1[pid] - cpu0.get(pid, 0.0) for pid in cpu1) / (t1 - t0)
    while time.monotonic() < all_in + IN_CALL_S + 30:
        seen = states()
        if all(any(str(e.state) in ("completed", "failed") for e in seen[m]) for m in ids):
            break
        time.sleep(1)
    seen = states()
    joins = []
    for r in requests:
        active = [e for e in seen[r.meeting_id] if str(e.state) == "active"]
        if active:
            joins.append((active[0].event_time_ns - r.event_time_ns) / 1e9)
    frames: dict[str, list[AudioFrame]] = {  # opened: bots seal what they publish
        m: asyncio.run(opened_frames(p.infra.bootstrap, p.prefix, m)) for m in ids}
    jfk = source_pcm("jfk.flac")
    scores: list[float] = []  # the second clip: every bot in its call
    during_joins: list[float] = []  # the first clip: while the other bots still start
    for m in ids:
        ordered = sorted(frames[m], key=lambda f: f.seq)
        pcm = np.frombuffer(b"".join(f.payload for f in ordered), "<i2").astype(np.float32) / 32768
        first = aligned_similarity(pcm[: 18 * 16000], jfk)[1] if len(pcm) else 0.0
        second = aligned_similarity(pcm[17 * 16000:], jfk)[1] if len(pcm) > 17 * 16000 else 0.0
        scores.append(second)
        during_joins.append(first)
        print(f"{m}: {len(pcm) / 16000:.1f} s captured, xcorr {first:.3f} / {second:.3f}", flush=True)
    ended = {m: str(seen[m][-1].reason) if seen[m] else "none" for m in ids}
    sustained = len(joins) == n and min(scores) >= 0.9 and all(r == "meeting_ended" for r in ended.values())
    return {"bots": n, "cpu_cores_total": round(cpu, 2), "cpu_per_bot_pct": round(100 * cpu / n, 1),
            "pss_mb_total": round(mem), "pss_mb_per_bot": round(mem / n),
            "join_s_median": round(statistics.median(joins), 2) if joins else None,
            "join_s_max": round(max(joins), 2) if joins else None,
            "min_xcorr": round(min(scores), 3), "min_xcorr_during_joins": round(min(during_joins), 3),
            "sustained": sustained}


def bench_bots(loads: tuple[int, ...] = (1, 2, 3, 4, 5, 6)) -> dict[str, Any]:
    import os

    if os.environ.get("BENCH_BOT_LOADS"):
        loads = tuple(int(x) for x in os.environ["BENCH_BOT_LOADS"].split(","))
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        infra = start_local_infra(stack, Path(tmp) / "infra")
        mock = MockMeetings().start()
        stack.callback(mock.stop)
        p: Pipeline = make_pipeline(infra, Path(tmp) / "pipeline")
        stack.callback(p.stop)
        p.start("bot-manager", env={"STENOGRAPH_BOT_MOCK_ORIGIN": mock.origin,
                                    "STENOGRAPH_BOT_MAX_PER_HOST": "64",
                                    "STENOGRAPH_BOT_MAX_PER_TENANT": "64"})
        results = []
        for n in loads:
            results.append(_load(p, mock, n))
            print(results[-1], flush=True)
            if not results[-1]["sustained"]:
                break
    most = max((r["bots"] for r in results if r["sustained"]), default=0)
    return {"name": "bots_per_machine", "sustained_bots": most, "loads": results,
            "setup": f"mock Meet, real Chromium, {IN_CALL_S:.0f} s calls, one speaker (jfk.flac twice)"}
