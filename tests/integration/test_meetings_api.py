"""Meetings, bots, exports, limits and erasure through the API on the real stack."""

from __future__ import annotations

import asyncio
import io
import random
import string
import uuid
import wave

import httpx
import pytest

from stenograph.capture.decode import decode_to_pcm16
from stenograph.runtime import CommonSettings, meeting_keys, meeting_partition
from stenograph.schemas.events import ConfigChanged, LeaveRequested
from stenograph.schemas.topics import AUDIO, COMMANDS, KEYS, TRANSCRIPTS
from tests.support import ADMIN_KEY, DATA, Pipeline, eventually, opened_frames, read_all, read_events

pytestmark = pytest.mark.integration


async def test_a_meeting_its_data_and_its_exports(pipeline: Pipeline) -> None:
    native = f"exp-{uuid.uuid4().hex[:8]}"
    meeting_id = pipeline.stream(DATA / "jfk.flac", f"zoom/{native}")
    await pipeline.idle()
    async with pipeline.client() as c:
        meeting = (await c.get(f"/meetings/zoom/{native}")).json()
        assert (meeting["id"], meeting["status"], meeting["data"]) == (meeting_id, "completed", {})
        patched = await c.patch(f"/meetings/zoom/{native}", json={"data": {"name": "Weekly", "n": 1}})
        assert patched.status_code == 200 and patched.json()["data"] == {"name": "Weekly", "n": 1}

        async def stored() -> bool:
            return (await c.get(f"/meetings/zoom/{native}")).json()["data"] == {"name": "Weekly", "n": 1}

        await eventually(stored)
        assert (await c.patch(f"/meetings/zoom/{native}", json={"data": "x"})).status_code == 422

        txt = await c.get(f"/transcripts/zoom/{native}", params={"format": "txt"})
        assert txt.headers["content-type"].startswith("text/plain") and "country" in txt.text
        assert txt.text.startswith("[00:00:00] ")
        srt = (await c.get(f"/transcripts/zoom/{native}", params={"format": "srt"})).text
        assert srt.startswith("1\n00:00:00,000 --> ") and "country" in srt
        vtt = (await c.get(f"/transcripts/zoom/{native}", params={"format": "vtt"})).text
        assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
        assert (await c.get(f"/transcripts/zoom/{native}", params={"format": "pdf"})).status_code == 422

        audio = await c.get(f"/meetings/zoom/{native}/audio")
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
        with wave.open(io.BytesIO(audio.content)) as w:
            pcm = w.readframes(w.getnframes())
            assert (w.getframerate(), w.getnchannels()) == (16_000, 1)
        source = decode_to_pcm16(DATA / "jfk.flac")
        assert pcm[: len(source)] == source and not pcm[len(source):].strip(b"\x00")


async def test_bot_commands_status_and_the_bot_limit(pipeline: Pipeline) -> None:
    native = "-".join("".join(random.choices(string.ascii_lowercase, k=n)) for n in (3, 4, 3))
    async with pipeline.client() as c:
        made = await c.post("/bots", json={"platform": "google_meet", "native_meeting_id": native})
        assert made.status_code == 201
        await pipeline.idle()
        running = (await c.get("/bots/status")).json()["running_bots"]
        assert made.json()["id"] in {m["id"] for m in running}
        assert (await c.put(f"/bots/google_meet/{native}/config", json={"language": "fr"})).status_code == 202
        empty = await c.put(f"/bots/google_meet/{native}/config", json={})
        assert empty.status_code == 422
        assert (await c.delete(f"/bots/google_meet/{native}")).status_code == 202
        assert (await c.delete("/bots/google_meet/nev-erse-eni")).status_code == 404
    commands = [e for e in await read_events(pipeline.infra.bootstrap, pipeline.topic(COMMANDS), COMMANDS)
                if e.meeting_id == made.json()["id"]]
    assert [type(e) for e in commands][1:] == [ConfigChanged, LeaveRequested]
    assert commands[1].language == "fr"

    async with httpx.AsyncClient(base_url=pipeline.api_url, timeout=10,
                                 headers={"X-Admin-API-Key": ADMIN_KEY}) as admin:
        tenant = f"limit{uuid.uuid4().hex[:6]}"
        await admin.post("/admin/users", json={"id": tenant, "name": "L", "max_concurrent_bots": 1})
        key = pipeline.mint_key(tenant)
    async with pipeline.client(key) as limited:
        first = await limited.post("/bots", json={"platform": "zoom", "native_meeting_id": "1111111111"})
        assert first.status_code == 201
        await pipeline.idle()
        second = await limited.post("/bots", json={"platform": "zoom", "native_meeting_id": "2222222222"})
        assert second.status_code == 429 and int(second.headers["Retry-After"]) > 0


async def test_request_rate_over_the_limit_gets_429(pipeline: Pipeline) -> None:
    key = pipeline.mint_key(f"rate{uuid.uuid4().hex[:6]}")
    async with pipeline.client(key) as c:
        codes = [r.status_code for r in await asyncio.gather(*(c.get("/bots/status") for _ in range(250)))]
        assert set(codes) == {200, 429} and codes.count(200) >= 100
        limited = await c.get("/bots/status")
        if limited.status_code == 429:
            assert int(limited.headers["Retry-After"]) >= 1


async def test_erasure_holds_through_a_rebuild(pipeline: Pipeline) -> None:
    native, kept = f"erase-{uuid.uuid4().hex[:8]}", f"keep-{uuid.uuid4().hex[:8]}"
    erased_id = pipeline.stream(DATA / "jfk.flac", f"zoom/{native}")
    pipeline.stream(DATA / "jfk.flac", f"zoom/{kept}")
    await pipeline.idle()
    async with pipeline.client() as c:
        gone = await c.delete(f"/meetings/zoom/{native}")
        assert gone.status_code == 202 and gone.json()["id"] == erased_id

        async def erased() -> bool:
            return (await c.get(f"/meetings/zoom/{native}")).status_code == 404

        await eventually(erased)
        for path in (f"/transcripts/zoom/{native}", f"/meetings/zoom/{native}/audio",
                     f"/meetings/zoom/{native}/runs"):
            assert (await c.get(path)).status_code == 404, path
        assert (await c.post(f"/meetings/zoom/{native}/replays", json={})).status_code == 404
        assert erased_id not in {m["id"] for m in (await c.get("/meetings")).json()["meetings"]}
        records = await read_all(pipeline.infra.bootstrap, pipeline.topic(TRANSCRIPTS))
        last = [r for r in records if r.key == erased_id.encode()][-1]
        assert last.value is None  # a tombstone: compaction removes the transcript

        proc = pipeline.cli("rebuild")
        assert proc.returncode == 0, proc.stderr
        assert (await c.get(f"/meetings/zoom/{native}")).status_code == 404
        assert (await c.get(f"/transcripts/zoom/{native}")).status_code == 404
        assert (await c.get(f"/transcripts/zoom/{kept}")).status_code == 200


async def test_erasure_destroys_the_keys_of_the_meetings_audio(pipeline: Pipeline) -> None:
    """Crypto-shredding: the frames on the audio topic are sealed; erasing the meeting leaves its
    erasure record and a tombstone for each session's data key on the compacted keys topic, and
    its stored frames no longer open, while another meeting's still do (and equal the source)."""
    native, kept = f"shred-{uuid.uuid4().hex[:8]}", f"keep-{uuid.uuid4().hex[:8]}"
    erased_id = pipeline.stream(DATA / "jfk.flac", f"zoom/{native}")
    kept_id = pipeline.stream(DATA / "jfk.flac", f"zoom/{kept}")
    await pipeline.idle()
    audio = await read_events(pipeline.infra.bootstrap, pipeline.topic(AUDIO), AUDIO)
    frames = {m: [f for f in audio if f.meeting_id == m] for m in (erased_id, kept_id)}
    pcm = decode_to_pcm16(DATA / "jfk.flac")
    assert all(f.sealed for fs in frames.values() for f in fs) and frames[erased_id]
    assert pcm[:3200] not in b"".join(f.payload for f in frames[kept_id])  # no plain PCM on Kafka
    async with pipeline.client() as c:
        assert (await c.delete(f"/meetings/zoom/{native}")).status_code == 202

        async def shredded() -> bool:
            records = await read_all(pipeline.infra.bootstrap, pipeline.topic(KEYS))
            mine = [r for r in records if r.key.decode().split("/")[0] == erased_id]
            last = {r.key: r.value for r in mine}
            return erased_id.encode() in last and all(
                v is None for k, v in last.items() if k != erased_id.encode())

        await eventually(shredded)
        sessions = {f.session_id for f in frames[erased_id]}
        records = await read_all(pipeline.infra.bootstrap, pipeline.topic(KEYS))
        assert {r.key.decode().split("/")[1] for r in records
                if r.key.decode().startswith(f"{erased_id}/") and r.value is None} == sessions
        master = CommonSettings().master_key
        for meeting in (erased_id, kept_id):  # the partition of each meeting holds all its keys
            partitions = {r.partition for r in records if r.key.decode().split("/")[0] == meeting}
            assert partitions == {meeting_partition(meeting)}, (meeting, partitions)
        ring = await meeting_keys(pipeline.infra.bootstrap, pipeline.topic(KEYS), master, erased_id)
        assert ring.erased(erased_id)
        assert [await ring.open(f) for f in frames[erased_id]] == [None] * len(frames[erased_id])
        opened = await opened_frames(pipeline.infra.bootstrap, pipeline.prefix, kept_id)
        assert len(opened) == len(frames[kept_id])
        assert b"".join(f.payload for f in opened)[:len(pcm)] == pcm
        wav = await c.get(f"/meetings/zoom/{kept}/audio")
        assert wav.status_code == 200
        with wave.open(io.BytesIO(wav.content)) as w:
            assert w.readframes(w.getnframes())[:len(pcm)] == pcm
