"""Per-meeting language with a multilingual model: fixed by the meeting's settings, or detected."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import jiwer
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


@pytest.mark.xfail(strict=False, reason=(
    "CPU-dependent (issue 13): passed on the machines it was built on; on an AMD EPYC machine "
    "(2026-12-03) the settled German part came out at WER 0.43 against its script (bound 0.25), "
    "every time"))
async def test_a_meeting_that_switches_language_is_transcribed_in_both(base_pipeline: Pipeline) -> None:
    """English for 15 s, then German (tests/data/meetings/bilingual.json): offline
    faster-whisper over the whole file detects English once and drops the German half."""
    p = base_pipeline
    p.stream(DATA / "meetings" / "bilingual.wav", "zoom/lang-switch")
    await p.idle()
    turns = json.loads((DATA / "meetings" / "bilingual.turns.json").read_text())
    scripts = {"en": " ".join(t["text"] for t in turns[:2]), "de": " ".join(t["text"] for t in turns[2:])}
    for run in ("settled", "live"):
        async with p.client() as c:
            segments = (await c.get("/transcripts/zoom/lang-switch", params={"run": run})).json()["segments"]
        languages = [s["language"] for s in segments]
        assert languages == sorted(languages, key=lambda x: x != "en"), (run, languages)  # en, then de
        for language, script in scripts.items():
            said = " ".join(s["text"] for s in segments if s["language"] == language)
            error = jiwer.wer(" ".join(_words(script)), " ".join(_words(said)) or "<empty>")
            assert error <= 0.25, (run, language, error, said)


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w' ]+", " ", text.lower()).split()  # German letters are words too


async def test_a_language_the_model_cannot_take_is_the_meetings_error_not_a_crash(
    base_pipeline: Pipeline,
) -> None:
    """A producer that skipped the API's check (an old client, a script) sends language "zz": the
    meeting is transcribed in the detected language, its live run says why, and the transcriber
    goes on with every other meeting."""
    from stenograph.capture import stream_file
    from stenograph.runtime import CommonSettings
    from stenograph.schemas import parse_meeting_ref

    p = base_pipeline
    settings = CommonSettings(kafka_bootstrap_servers=p.infra.bootstrap, redis_url=p.infra.redis_url,
                              topic_prefix=p.prefix)
    await stream_file(DATA / "jfk.flac", parse_meeting_ref("zoom/lang-zz"), settings, language="zz")
    p.stream(DATA / "jfk.flac", "zoom/lang-after")
    await p.idle()
    assert p.procs["transcriber"].pid() is not None, "the transcriber died"
    for meeting in ("zoom/lang-zz", "zoom/lang-after"):
        segments = (await p.transcript(meeting)).json()["segments"]
        assert "country" in " ".join(s["text"] for s in segments).lower(), meeting
        assert {s["language"] for s in segments} == {"en"}
    async with p.client() as c:
        runs = (await c.get("/meetings/zoom/lang-zz/runs")).json()["runs"]
    live = next(r for r in runs if r["run_id"] == "live")
    assert "'zz' is not a Whisper language code" in (live["error"] or ""), live
