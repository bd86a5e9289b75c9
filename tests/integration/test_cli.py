"""`stenograph stream` bad input: exit code 2, a one-line reason, nothing published."""

from __future__ import annotations

from pathlib import Path

import pytest

from stenograph.schemas.topics import AUDIO, LIFECYCLE
from tests.support import DATA, Pipeline, end_offsets

pytestmark = pytest.mark.integration


async def _totals(p: Pipeline) -> tuple[int, int]:
    audio = await end_offsets(p.infra.bootstrap, p.topic(AUDIO))
    lifecycle = await end_offsets(p.infra.bootstrap, p.topic(LIFECYCLE))
    return sum(audio.values()), sum(lifecycle.values())


@pytest.mark.parametrize(
    ("make_file", "meeting", "message"),
    [
        (lambda d: d / "missing.wav", "zoom/cli-missing", "no such file"),
        (lambda d: _write(d / "notes.wav", b"this is not audio\n" * 50), "zoom/cli-garbage",
         "cannot decode"),
        (lambda d: _write(d / "empty.mp3", b""), "zoom/cli-empty", "cannot decode"),
        (lambda d: DATA / "jfk.flac", "skype/abc", "platform must be one of"),
        (lambda d: DATA / "jfk.flac", "zoom/bad id!", "native meeting id"),
        (lambda d: DATA / "jfk.flac", "no-slash", "expected PLATFORM/NATIVE_ID"),
    ],
)
async def test_stream_bad_input(
    pipeline: Pipeline, tmp_path: Path, make_file: object, meeting: str, message: str
) -> None:
    before = await _totals(pipeline)
    path = make_file(tmp_path)  # type: ignore[operator]
    proc = pipeline.cli("stream", str(path), "--meeting", meeting)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert await _totals(pipeline) == before


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_stream_reports_what_it_published(pipeline: Pipeline) -> None:
    before = await _totals(pipeline)
    proc = pipeline.cli("stream", str(DATA / "jfk.flac"), "--meeting", "zoom/cli-ok", "--frame-ms", "20")
    assert proc.returncode == 0, proc.stderr
    assert "550 frames, 11.0 s published" in proc.stdout
    after = await _totals(pipeline)
    assert after[0] - before[0] == 550  # every frame, none batched
    # session started, audio index after the first acked batch and at the end, session ended
    assert after[1] - before[1] == 4


def test_a_broker_address_that_does_not_answer_fails_at_start_naming_the_setting() -> None:
    """The seed's failure (`localhost` inside a container reaches no broker): the source exits
    at once with exit code 1 and one line that names the setting, and leaves no client open."""
    import os
    import subprocess
    import sys

    from stenograph.compose.local.processes import free_port

    nowhere = f"127.0.0.1:{free_port()}"  # a loopback port nobody listens on
    proc = subprocess.run(
        [sys.executable, "-m", "stenograph", "stream", str(DATA / "jfk.flac"), "--meeting", "zoom/nowhere"],
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": nowhere}, capture_output=True, text=True,
        timeout=60, check=False)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: Kafka unavailable at {nowhere} (KAFKA_BOOTSTRAP_SERVERS)"), last
    assert "Unclosed AIOKafkaProducer" not in proc.stderr
