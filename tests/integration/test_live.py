"""Live delivery on the real stack: a WebSocket subscriber joining mid-meeting gets the
transcript so far, then every change, with no gap and no duplicate; the same over SSE."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support import DATA, Pipeline

pytestmark = pytest.mark.integration


def subscribe(platform: str, native: str) -> str:
    return json.dumps({"action": "subscribe", "meetings": [{"platform": platform, "native_id": native}]})


def ws_url(p: Pipeline) -> str:
    return p.api_url.replace("http://", "ws://") + "/ws"


async def collect(ws: Any, until: float) -> list[dict[str, Any]]:
    """Messages until the meeting is completed and its settled transcript complete (or 60 s
    after the status said completed, for a meeting settled before the subscription), or until
    `until` passes. The settled completion follows the session's last live final on the same
    partition; the status does not: on a loaded machine the last chunk is decoded well after
    the status said completed."""
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + until
    completed_at = None
    while time.monotonic() < deadline:
        since = time.monotonic() - completed_at if completed_at is not None else 0.0
        if (since > 3 and settled_complete(out)) or since > 60:
            break
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
        except TimeoutError:
            continue
        out.append(message)
        if message.get("type") == "meeting.status" and message["payload"]["status"] == "completed":
            completed_at = time.monotonic()
    return out


def settled_complete(messages: list[dict[str, Any]]) -> bool:
    return any(m["type"] == "transcript.settled" and m["payload"]["complete"] for m in messages)


async def rest_finals(p: Pipeline, native: str, run: str = "live") -> dict[str, str]:
    async with p.client() as c:
        body = (await c.get(f"/transcripts/zoom/{native}", params={"run": run})).json()
    return {s["segment_id"]: s["text"] for s in body["segments"] if s["completed"]}


def settled_of(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(s["segment_id"], s["text"]) for m in messages if m["type"] == "transcript.settled"
            for s in m["payload"]["segments"]]


def finals_of(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(s["segment_id"], s["text"]) for m in messages if m["type"] == "transcript.finalized"
            for s in m["payload"]["segments"]]


async def test_a_late_subscriber_gets_everything_once(pipeline: Pipeline) -> None:
    native = f"live-{uuid.uuid4().hex[:8]}"
    streamer = pipeline.stream_live(DATA / "ami_trn03.wav", f"zoom/{native}")
    try:
        async with pipeline.client() as c:
            deadline = time.monotonic() + 60
            while (await c.get(f"/transcripts/zoom/{native}")).status_code != 200 or not (
                    await c.get(f"/transcripts/zoom/{native}")).json()["segments"]:
                assert time.monotonic() < deadline, "no text while streaming"
                await asyncio.sleep(0.2)
        async with connect(ws_url(pipeline), additional_headers={"X-API-Key": pipeline.api_key}) as ws:
            await ws.send(subscribe("zoom", native))
            messages = await collect(ws, until=240)
    finally:
        streamer.wait(timeout=120)
    assert messages[0] == {"type": "subscribed", "meetings": [{"platform": "zoom", "native_id": native}]}
    kinds = [m["type"] for m in messages]
    assert "transcript.mutable" in kinds and kinds.index("transcript.mutable") < len(kinds) - 1
    finals = finals_of(messages)
    assert len(finals) == len({sid for sid, _ in finals}), "a final segment was sent twice"
    await pipeline.idle()
    rest = await rest_finals(pipeline, native)
    assert dict(finals) == rest, (  # no gap
        {"missing": sorted(set(rest) - set(dict(finals))), "kinds": kinds})
    settled = settled_of(messages)  # the settling pass's text, each segment once, then complete
    assert settled and len(settled) == len({sid for sid, _ in settled}) and settled_complete(messages)
    assert dict(settled) == await rest_finals(pipeline, native, "settled")
    statuses = [m["payload"]["status"] for m in messages if m["type"] == "meeting.status"]
    assert statuses[0] == "active" and statuses[-1] == "completed"

    # after the end: a new subscriber gets the whole transcript as its snapshot
    async with connect(f"{ws_url(pipeline)}?api_key={pipeline.api_key}") as ws:
        await ws.send(subscribe("zoom", native))
        await ws.send(json.dumps({"action": "ping"}))
        late = await collect(ws, until=4)
    assert dict(finals_of(late)) == await rest_finals(pipeline, native)
    assert dict(settled_of(late)) == await rest_finals(pipeline, native, "settled")
    assert settled_complete(late) and {"type": "pong"} in late


async def test_a_record_whose_key_is_not_utf8_stops_no_live_delivery(pipeline: Pipeline) -> None:
    """Such a key once killed every API replica's live feed; now it is passed over."""
    from stenograph.runtime import reliable_producer
    from stenograph.schemas import LIFECYCLE, TRANSCRIPT_CHANGES

    producer = reliable_producer(pipeline.infra.bootstrap)
    await producer.start()
    try:
        for base in (TRANSCRIPT_CHANGES, LIFECYCLE):
            await producer.send_and_wait(pipeline.topic(base), b"not avro", key=b"\xff\xfe")
    finally:
        await producer.stop()
    native = f"live-key-{uuid.uuid4().hex[:8]}"
    streamer = pipeline.stream_live(DATA / "jfk.flac", f"zoom/{native}")
    try:
        async with pipeline.client() as c:
            deadline = time.monotonic() + 60
            while (await c.get(f"/transcripts/zoom/{native}")).status_code != 200:
                assert time.monotonic() < deadline, "the meeting never appeared"
                await asyncio.sleep(0.1)
        async with connect(ws_url(pipeline), additional_headers={"X-API-Key": pipeline.api_key}) as ws:
            await ws.send(subscribe("zoom", native))
            messages = await collect(ws, until=90)
    finally:
        streamer.wait(timeout=120)
    statuses = [m["payload"]["status"] for m in messages if m["type"] == "meeting.status"]
    assert statuses[-1] == "completed", statuses  # arrived through the live feed, after the bad key
    assert finals_of(messages)


async def test_sse_carries_the_same_stream(pipeline: Pipeline) -> None:
    native = f"sse-{uuid.uuid4().hex[:8]}"
    pipeline.stream(DATA / "jfk.flac", f"zoom/{native}")
    await pipeline.idle()
    async with pipeline.client(timeout=30) as c, c.stream(
            "GET", "/sse", params={"meetings": f"zoom/{native}"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events: list[str] = []
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                events.append(line[7:])
            if line.startswith("data: ") and "transcript.finalized" in line:
                assert "country" in json.loads(line[6:])["payload"]["segments"][-1]["text"]
                break
    assert events[:2] == ["subscribed", "meeting.status"]
    async with pipeline.client() as c:
        assert (await c.get("/sse", params={"meetings": "zoom/never-seen"})).status_code == 404
        assert (await c.get("/sse", params={"meetings": "skype/x"})).status_code == 422


async def test_no_subscription_across_tenants_and_bad_messages_get_errors(pipeline: Pipeline) -> None:
    native = f"iso-{uuid.uuid4().hex[:8]}"
    pipeline.stream(DATA / "jfk.flac", f"zoom/{native}")
    await pipeline.idle()
    other = pipeline.mint_key(f"ws{uuid.uuid4().hex[:6]}")
    async with connect(ws_url(pipeline), additional_headers={"X-API-Key": other}) as ws:
        await ws.send(subscribe("zoom", native))
        assert json.loads(await ws.recv()) == {"type": "error", "error": f"no meeting zoom/{native}"}
        for bad in ("not json", b"\x00binary", json.dumps({"action": "dance"}), subscribe("skype", "x")):
            await ws.send(bad)
            assert json.loads(await ws.recv())["type"] == "error"
        assert await collect(ws, until=2) == []  # nothing of the other tenant's meeting
    async with connect(ws_url(pipeline)) as ws:
        assert json.loads(await ws.recv())["type"] == "error"
        await asyncio.sleep(0.2)
        assert ws.close_code == 1008
    async with httpx.AsyncClient(base_url=pipeline.api_url) as anonymous:
        assert (await anonymous.get("/sse", params={"meetings": f"zoom/{native}"})).status_code == 401
