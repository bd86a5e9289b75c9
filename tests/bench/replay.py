"""Replay throughput: a one-hour meeting replayed from Kafka vs offline faster-whisper on the
same audio with the same model and settings in one process (the floor for this hardware)."""

from __future__ import annotations

import asyncio
import tempfile
import time
import wave
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from stenograph.capture.decode import decode_to_pcm16
from stenograph.transcribe.model import DecodeOptions, FasterWhisperTranscriber
from stenograph.transcribe.settings import TranscriberSettings
from tests.support import DATA, Pipeline, make_pipeline, start_local_infra

SOURCES = ("ami_dev00.wav", "ami_trn01.wav", "ami_trn02.wav", "ami_trn03.wav", "pyannote_sample.wav",
           "jfk.flac")


def build_meeting(path: Path, seconds: float) -> float:
    """Real recordings repeated to `seconds`, as one 16 kHz PCM16 WAV."""
    cycle = b"".join(decode_to_pcm16(DATA / name) for name in SOURCES)
    need = int(seconds * 16000) * 2
    pcm = (cycle * (need // len(cycle) + 1))[:need]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    return len(pcm) / 32000


def offline_seconds(path: Path, batch_size: int) -> tuple[float, int]:
    settings = TranscriberSettings()
    model = FasterWhisperTranscriber("tiny.en", settings.device, settings.compute_type)
    audio = np.frombuffer(decode_to_pcm16(path), dtype="<i2").astype(np.float32) / 32768.0
    t0 = time.perf_counter()
    segments, _ = model.stream(audio, DecodeOptions(beam_size=settings.beam_size), batch_size)
    count = sum(1 for _ in segments)
    return time.perf_counter() - t0, count


async def _replay_seconds(p: Pipeline, meeting: str) -> dict[str, Any]:
    async with p.client(timeout=30) as c:
        t0 = time.perf_counter()
        r = await c.post(f"/meetings/{meeting}/replays", json={"model": "tiny.en"})
        r.raise_for_status()
        run_id = r.json()["run_id"]
        while True:
            runs = {x["run_id"]: x for x in (await c.get(f"/meetings/{meeting}/runs")).json()["runs"]}
            run = runs.get(run_id, {})
            if run.get("state") in ("completed", "failed"):
                return {"seconds": time.perf_counter() - t0, **run}
            await asyncio.sleep(0.2)


def bench_replay(hours: float = 1.0) -> dict[str, Any]:
    batch = TranscriberSettings().replay_batch_size
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        meeting_wav = tmp / "meeting.wav"
        audio_s = build_meeting(meeting_wav, hours * 3600)
        offline_s, offline_segments = offline_seconds(meeting_wav, batch)

        infra = start_local_infra(stack, tmp / "infra")
        p = make_pipeline(infra, tmp / "pipeline")
        stack.callback(p.stop)
        p.start("aggregator", "replayer", "api")  # no live transcriber competing for the cores
        p.stream(DATA / "jfk.flac", "zoom/bench-warmup")
        p.stream(meeting_wav, "zoom/bench-hour")
        asyncio.run(p.idle())
        asyncio.run(_replay_seconds(p, "zoom/bench-warmup"))  # the replayer loads its model
        run = asyncio.run(_replay_seconds(p, "zoom/bench-hour"))
    return {
        "name": "replay_one_hour", "audio_s": round(audio_s), "batch_size": batch,
        "offline_s": round(offline_s, 1), "offline_segments": offline_segments,
        "replay_s": round(run["seconds"], 1), "replay_state": run["state"],
        "replay_segments": run["segments"],
        "ratio_vs_offline": round(run["seconds"] / offline_s, 3),
        "targets": {"ratio_vs_offline": 1.1, "replay_s": 180},
    }
