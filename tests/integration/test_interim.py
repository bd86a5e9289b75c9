"""Live text while a meeting streams: interim (revisable) segments first, then finals that never
change."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support import DATA, Pipeline

pytestmark = pytest.mark.integration


async def test_interim_then_final_on_a_real_recording(pipeline: Pipeline) -> None:
    meeting = "google_meet/interim-check"
    streamer = pipeline.stream_live(DATA / "ami_dev00.wav", meeting)
    interims: dict[str, list[str]] = {}
    finals: dict[str, tuple[Any, ...]] = {}
    try:
        async with pipeline.client() as c:
            while streamer.poll() is None:
                r = await c.get(f"/transcripts/{meeting}")
                if r.status_code == 200:
                    for s in r.json()["segments"]:
                        if not s["completed"]:
                            interims.setdefault(s["segment_id"], []).append(s["text"])
                        else:
                            shape = (s["start"], s["end"], s["text"])
                            # a final segment never changes afterwards
                            assert finals.setdefault(s["segment_id"], shape) == shape
                await asyncio.sleep(0.1)
    finally:
        _, err = streamer.communicate(timeout=60)
    assert streamer.returncode == 0, err
    await pipeline.idle()
    async with pipeline.client() as c:  # the live run: the settled one replaces it by default
        body = (await c.get(f"/transcripts/{meeting}", params={"run": "live"})).json()
    # words were on screen before their chunk ended, marked as not completed
    assert interims, "no interim segment seen while the meeting streamed"
    assert any(len(texts) > 1 for texts in interims.values()) or len(interims) > 1
    # at the end every interim has given way to finals
    assert body["segments"] and all(s["completed"] for s in body["segments"])
    assert not {s["segment_id"] for s in body["segments"]} & set(interims)
    for s in body["segments"]:
        if s["segment_id"] in finals:
            assert finals[s["segment_id"]] == (s["start"], s["end"], s["text"])
