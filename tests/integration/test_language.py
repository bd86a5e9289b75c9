"""Per-meeting language with a multilingual model: fixed by the meeting's settings, or detected."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import DATA, Infra, Pipeline, make_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture
def base_pipeline(infra: Infra, tmp_path: Path) -> Iterator[Pipeline]:
    p = make_pipeline(infra, tmp_path, extra_env={"STENOGRAPH_MODEL": "base"})
    try:
        p.start("transcriber", "aggregator", "api")
        yield p
    finally:
        p.stop()


async def test_language_fixed_vs_detected(base_pipeline: Pipeline) -> None:
    p = base_pipeline
    p.stream(DATA / "jfk.flac", "zoom/lang-detected")
    proc = p.cli("stream", str(DATA / "jfk.flac"), "--meeting", "zoom/lang-fixed", "--language", "fr")
    assert proc.returncode == 0, proc.stderr
    await p.idle()

    detected = (await p.transcript("zoom/lang-detected")).json()["segments"]
    fixed = (await p.transcript("zoom/lang-fixed")).json()["segments"]
    assert detected and {s["language"] for s in detected} == {"en"}
    assert "country" in " ".join(s["text"] for s in detected).lower()
    assert fixed and {s["language"] for s in fixed} == {"fr"}  # decoded as French, as asked

    bad = p.cli("stream", str(DATA / "jfk.flac"), "--meeting", "zoom/lang-bad", "--language", "klingon")
    assert bad.returncode == 2 and "Whisper language" in bad.stderr


async def test_a_language_change_mid_meeting_applies_from_the_next_segment(base_pipeline: Pipeline) -> None:
    p = base_pipeline
    meeting = "zoom/lang-change"
    streamer = p.stream_live(DATA / "ami_dev00.wav", meeting)
    try:
        async with p.client() as c:
            deadline = time.monotonic() + 60
            while True:
                r = await c.get(f"/transcripts/{meeting}")
                if r.status_code == 200 and any(s["completed"] for s in r.json()["segments"]):
                    break
                assert time.monotonic() < deadline, "no final segment while streaming"
                await asyncio.sleep(0.2)
            changed = await c.put(f"/bots/{meeting}/config", json={"language": "fr"})
            assert changed.status_code == 202, changed.text
    finally:
        assert streamer.wait(timeout=120) == 0
    await p.idle()
    finals = [s for s in (await p.transcript(meeting)).json()["segments"] if s["completed"]]
    languages = [s["language"] for s in sorted(finals, key=lambda s: s["start"])]
    assert languages[0] == "en" and languages[-1] == "fr", languages
    switch = languages.index("fr")
    assert set(languages[:switch]) == {"en"} and set(languages[switch:]) == {"fr"}, languages
