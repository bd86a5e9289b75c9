"""Per-meeting language with a multilingual model: fixed by the meeting's settings, or detected."""

from __future__ import annotations

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
