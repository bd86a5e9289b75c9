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
