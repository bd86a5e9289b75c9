"""A real recording through capture -> Kafka -> transcriber -> aggregator -> Redis -> API."""

from __future__ import annotations

from pathlib import Path

import jiwer
import numpy as np
import pytest

from stenograph.schemas.events import AudioHealth, HealthKind
from stenograph.schemas.topics import LIFECYCLE
from tests.support import DATA, Pipeline, normalize, read_events, write_wav

pytestmark = pytest.mark.integration


async def test_jfk_transcript_through_the_api(pipeline: Pipeline) -> None:
    meeting_id = pipeline.stream(DATA / "jfk.flac", "google_meet/jfk-e2e")
    await pipeline.idle()
    r = await pipeline.transcript("google_meet/jfk-e2e")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == meeting_id
    assert body["status"] == "completed"
    segments = body["segments"]
    assert segments and all(s["completed"] for s in segments)
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    assert all(s["language"] == "en" for s in segments)
    assert all(s["absolute_start_time"] <= s["absolute_end_time"] for s in segments)
    hypothesis = normalize(" ".join(s["text"] for s in segments))
    reference = normalize((DATA / "jfk.txt").read_text())
    error = jiwer.wer(reference, hypothesis)
    assert error <= 0.15, (error, hypothesis)


async def test_zeros_and_silence_produce_no_text(pipeline: Pipeline, tmp_path: Path) -> None:
    """60 s each of digital zeros and of a room's noise floor: no text; the zeros are reported."""
    zeros = write_wav(tmp_path / "zeros.wav", np.zeros(60 * 16000))
    rng = np.random.default_rng(7)  # room-quiet noise floor, about -70 dBFS
    quiet = write_wav(tmp_path / "silence.wav", rng.normal(0, 10, 60 * 16000).round())
    zeros_id = pipeline.stream(zeros, "zoom/zeros-60s")
    quiet_id = pipeline.stream(quiet, "zoom/silence-60s")
    await pipeline.idle()

    for meeting in ("zoom/zeros-60s", "zoom/silence-60s"):
        r = await pipeline.transcript(meeting)
        assert r.status_code == 200, r.text
        assert r.json()["segments"] == [], r.json()["segments"]

    zeros_body = (await pipeline.transcript("zoom/zeros-60s")).json()
    assert zeros_body["audio_health"][HealthKind.SILENT_STREAM]["count"] >= 1
    quiet_body = (await pipeline.transcript("zoom/silence-60s")).json()
    assert HealthKind.SILENT_STREAM not in quiet_body["audio_health"]

    events = await read_events(pipeline.infra.bootstrap, pipeline.topic(LIFECYCLE), LIFECYCLE)
    health = [e for e in events if isinstance(e, AudioHealth)]
    assert any(h.meeting_id == zeros_id and h.kind == HealthKind.SILENT_STREAM for h in health)
    assert not any(h.meeting_id == quiet_id for h in health)


async def test_noise_and_hum_produce_no_text(pipeline: Pipeline, tmp_path: Path) -> None:
    """60 s each of white noise and mains hum: nothing was said, nothing is written."""
    rng = np.random.default_rng(11)
    t = np.arange(60 * 16000) / 16000
    files = {
        "zoom/white-noise-60s": rng.normal(0, 0.05 * 32767, t.size).clip(-32767, 32767).round(),
        "zoom/hum-60s": (0.2 * 32767 * np.sin(2 * np.pi * 50 * t)).round(),
    }
    for meeting, samples in files.items():
        pipeline.stream(write_wav(tmp_path / f"{meeting.split('/')[1]}.wav", samples), meeting)
    await pipeline.idle()
    for meeting in files:
        r = await pipeline.transcript(meeting)
        assert r.status_code == 200, r.text
        assert r.json()["segments"] == [], (meeting, r.json()["segments"])
