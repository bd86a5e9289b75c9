"""Replays on the real stack: new versions beside the live run, determinism, progress, rebuild."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jiwer
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from redis.asyncio import Redis

from stenograph.aggregate.rebuild import clear_read_model
from stenograph.schemas.events import RunProgress
from stenograph.schemas.topics import LIFECYCLE
from tests.support import DATA, Pipeline, eventually, read_events, words

pytestmark = pytest.mark.integration


async def _client(p: Pipeline) -> httpx.AsyncClient:
    return p.client(timeout=20)


async def _wait_run(p: Pipeline, meeting: str, run_id: str, timeout: float = 180) -> dict[str, Any]:
    async with await _client(p) as c:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = await c.get(f"/meetings/{meeting}/runs")
            runs = {x["run_id"]: x for x in r.json()["runs"]} if r.status_code == 200 else {}
            if runs.get(run_id, {}).get("state") in ("completed", "failed"):
                return runs[run_id]
            await asyncio.sleep(0.2)
    raise TimeoutError(f"run {run_id} of {meeting} did not end")


async def _replay(p: Pipeline, meeting: str, **body: Any) -> httpx.Response:
    async with await _client(p) as c:
        return await c.post(f"/meetings/{meeting}/replays", json=body)


async def _segments(p: Pipeline, meeting: str, run: str | None = None) -> list[dict[str, Any]]:
    async with await _client(p) as c:
        r = await c.get(f"/transcripts/{meeting}", params={"run": run} if run else None)
        assert r.status_code == 200, r.text
        return list(r.json()["segments"])


def _text(segments: list[dict[str, Any]]) -> str:
    return " ".join(words(" ".join(s["text"] for s in segments)))


async def test_replay_with_another_model_is_a_second_version(pipeline: Pipeline) -> None:
    meeting = "google_meet/replay-base"
    pipeline.stream(DATA / "jfk.flac", meeting)
    await pipeline.idle()
    live_before = await _segments(pipeline, meeting)

    r = await _replay(pipeline, meeting, model="base", language="en")
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["state"] == "requested" and run["model"] == "base" and run["run_id"] != "live"
    done = await _wait_run(pipeline, meeting, run["run_id"])
    assert done["state"] == "completed", done
    assert done["progress"] == 1.0 and done["progress_percent"] == 100.0
    assert done["audio_s"] == pytest.approx(11.0, abs=0.2)

    replayed = await _segments(pipeline, meeting, run["run_id"])
    reference = " ".join(words((DATA / "jfk.txt").read_text()))
    assert jiwer.wer(reference, _text(replayed)) <= 0.15
    assert await _segments(pipeline, meeting) == live_before  # the live run is untouched
    async with await _client(pipeline) as c:
        listing = (await c.get(f"/meetings/{meeting}/runs")).json()
        assert {x["run_id"] for x in listing["runs"]} == {"live", "settled", run["run_id"]}
        assert listing["default_run"] == "settled"  # until one is selected: the settling pass
        # the replay becomes the meeting's default transcript
        r = await c.put(f"/meetings/{meeting}/default_run", json={"run_id": run["run_id"]})
        assert r.status_code == 202, r.text
        await pipeline.idle()
        assert (await c.get(f"/transcripts/{meeting}")).json()["run_id"] == run["run_id"]
        bad = await c.put(f"/meetings/{meeting}/default_run", json={"run_id": "r-unknown"})
        assert bad.status_code == 422

    # progress went through the lifecycle topic: running, then completed at 100 %
    events = await read_events(pipeline.infra.bootstrap, pipeline.topic(LIFECYCLE), LIFECYCLE)
    states = [(e.state, e.progress) for e in events if isinstance(e, RunProgress)
              and e.run_id == run["run_id"]]
    assert states[0] == ("running", 0.0) and states[-1] == ("completed", 1.0), states


async def test_two_identical_replays_give_identical_transcripts(pipeline: Pipeline) -> None:
    meeting = "zoom/replay-twice"
    pipeline.stream(DATA / "ami_dev00.wav", meeting)
    await pipeline.idle()
    runs = []
    for _ in range(2):
        r = await _replay(pipeline, meeting, model="tiny.en")
        assert r.status_code == 202, r.text
        assert (await _wait_run(pipeline, meeting, r.json()["run_id"]))["state"] == "completed"
        runs.append(r.json()["run_id"])
    assert runs[0] != runs[1]  # a finished run can be re-run, as a new run
    first, second = [await _segments(pipeline, meeting, run) for run in runs]

    def shape(segments: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(s["segment_id"], s["start"], s["end"], s["text"]) for s in segments]

    assert first and shape(first) == shape(second)


async def test_asking_again_while_running_returns_the_same_run(pipeline: Pipeline) -> None:
    meeting = "zoom/replay-dedupe"
    pipeline.stream(DATA / "ami_dev00.wav", meeting)
    await pipeline.idle()
    first = await _replay(pipeline, meeting, model="base", task="translate")
    assert first.status_code == 202
    second = await _replay(pipeline, meeting, model="base", task="translate")
    assert second.json()["run_id"] == first.json()["run_id"]
    assert second.status_code in (200, 202)
    await _wait_run(pipeline, meeting, first.json()["run_id"])


async def test_a_meeting_in_progress_replays_what_is_stored(pipeline: Pipeline) -> None:
    meeting = "teams/replay-live"
    streamer = pipeline.stream_live(DATA / "ami_dev00.wav", meeting)
    try:
        await asyncio.sleep(8)
        r = await _replay(pipeline, meeting, model="tiny.en")
        assert r.status_code == 202, r.text
        done = await _wait_run(pipeline, meeting, r.json()["run_id"])
        assert done["state"] == "completed", done
        assert 3.0 < done["audio_s"] < 25.0, done  # what was stored when asked, not the whole file
        assert streamer.poll() is None  # the meeting was still going
    finally:
        streamer.wait(timeout=60)


async def test_bad_replay_requests(pipeline: Pipeline) -> None:
    meeting = "zoom/replay-bad"
    pipeline.stream(DATA / "jfk.flac", meeting)
    await pipeline.idle()
    cases = [
        ({"model": "gpt-9"}, 422, "model"),
        ({"model": "tiny.en", "language": "xx"}, 422, "language"),
        ({"model": "tiny.en", "language": "de"}, 422, "language"),
        ({"model": "tiny.en", "task": "translate"}, 422, "task"),
    ]
    for body, code, field in cases:
        r = await _replay(pipeline, meeting, **body)
        assert r.status_code == code, (body, r.text)
        assert field in str(r.json()["detail"]), r.text
    assert (await _replay(pipeline, "zoom/never-met", model="tiny.en")).status_code == 404
    async with await _client(pipeline) as c:  # a meeting that only has a join request
        assert (await c.post("/bots", json={"platform": "zoom", "native_meeting_id": "9090909090"})
                ).status_code == 201
    await pipeline.idle()
    r = await _replay(pipeline, "zoom/9090909090", model="tiny.en")
    assert r.status_code == 409 and "no stored audio" in r.text

    # CLI: exit 2 and one line, before anything is read
    for args, message in [
        (["zoom/never-met"], "no meeting"),
        ([meeting, "--model", "gpt-9"], "unknown model"),
        ([meeting, "--language", "xx", "--model", "base"], "not a Whisper language code"),
        (["zoom/9090909090"], "no stored audio"),
    ]:
        proc = pipeline.cli("replay", *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert proc.stderr.strip().startswith("error: ") and message in proc.stderr, proc.stderr


async def test_audio_past_retention_is_refused(pipeline: Pipeline) -> None:
    meeting = "zoom/replay-expired"
    pipeline.stream(DATA / "jfk.flac", meeting)
    await pipeline.idle()
    async with await _client(pipeline) as c:
        assert (await c.get(f"/transcripts/{meeting}")).status_code == 200
    redis = Redis.from_url(pipeline.infra.redis_url, decode_responses=True)
    try:
        meeting_id = await redis.get(f"{pipeline.prefix.rstrip('.')}:local:native:zoom:replay-expired")
        index = await redis.hgetall(f"{pipeline.prefix.rstrip('.')}:local:audio:{meeting_id}")
    finally:
        await redis.aclose()
    import json

    entry = json.loads(next(iter(index.values())))
    admin = AIOKafkaAdminClient(bootstrap_servers=pipeline.infra.bootstrap)
    await admin.start()
    try:  # what retention does: the log now starts after this meeting's audio
        tp = TopicPartition(entry["topic"], entry["partition"])
        await admin.delete_records({tp: RecordsToDelete(entry["last_offset"] + 1)}, timeout_ms=10_000)
    finally:
        await admin.close()
    r = await _replay(pipeline, meeting, model="tiny.en")
    assert r.status_code == 410 and "retention" in r.text
    proc = pipeline.cli("replay", meeting)
    assert proc.returncode == 2 and "retention" in proc.stderr


async def test_rebuild_restores_the_read_model(own_pipeline: Pipeline) -> None:
    pipeline = own_pipeline  # nothing another test does can change its read model meanwhile
    pipeline.start()
    meeting = "google_meet/rebuild-me"
    pipeline.stream(DATA / "ami_dev00.wav", "zoom/rebuild-other")
    async with await _client(pipeline) as c:
        assert (await c.post("/bots", json={"platform": "teams", "native_meeting_id": "123456789012",
                                               "passcode": "p4ss"})
                ).status_code == 201
    pipeline.stream(DATA / "jfk.flac", meeting)
    await pipeline.idle()
    r = await _replay(pipeline, meeting, model="tiny.en")
    run_id = r.json()["run_id"]
    await _wait_run(pipeline, meeting, run_id)
    await pipeline.idle()

    async def snapshot() -> list[Any]:
        async with await _client(pipeline) as c:
            return [
                (await c.get("/meetings", params={"limit": 1000})).json(),
                (await c.get(f"/transcripts/{meeting}")).json(),
                (await c.get(f"/transcripts/{meeting}", params={"run": run_id})).json(),
                (await c.get(f"/meetings/{meeting}/runs")).json(),
            ]

    before = await snapshot()
    redis = Redis.from_url(pipeline.infra.redis_url, decode_responses=True)
    try:
        prefix = pipeline.prefix.rstrip(".")
        assert await clear_read_model(redis, f"{prefix}:*", keep=f"{prefix}:_epoch") > 0
    finally:
        await redis.aclose()
    async with await _client(pipeline) as c:
        assert (await c.get(f"/transcripts/{meeting}")).status_code == 401  # the keys went too
    proc = pipeline.cli("rebuild", timeout=300)
    assert proc.returncode == 0, proc.stderr
    after = await snapshot()
    for name, was, now in zip(("meetings", "live", "replay", "runs"), before, after, strict=True):
        assert now == was, name


async def test_a_read_model_that_lost_its_data_is_rebuilt_by_the_aggregator(own_pipeline: Pipeline) -> None:
    """Redis restarted empty (no persistence, lost files, a flush): the aggregator sees the epoch
    marker gone and rebuilds the read model from Kafka by itself. It once served a partial read
    model until someone ran `stenograph rebuild`."""
    p = own_pipeline
    p.start("transcriber", "aggregator", "api")
    p.stream(DATA / "jfk.flac", "zoom/lost-redis")
    await p.idle()
    before = (await p.transcript("zoom/lost-redis")).json()
    assert before["segments"]
    redis = Redis.from_url(p.infra.redis_url, decode_responses=True)
    try:
        wiped = [key async for key in redis.scan_iter(match=f"{p.prefix.rstrip('.')}:*")]
        assert f"{p.prefix.rstrip('.')}:_epoch" in wiped
        await redis.delete(*wiped)  # everything, the marker too
    finally:
        await redis.aclose()

    async def restored() -> bool:
        r = await p.transcript("zoom/lost-redis")  # the API key comes back with the tenants topic
        return r.status_code == 200 and r.json()["segments"] == before["segments"]

    await eventually(restored, timeout=60)
