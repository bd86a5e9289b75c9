"""Live latency, capacity and quality: real recordings streamed in real time through the whole
pipeline (capture -> Kafka -> transcriber -> aggregator -> Redis -> API), N meetings at once.

Latency of a final segment: from the moment the audio up to its end had been published
(session start + segment end, since frames are paced at wall-clock speed) to the first API
poll that shows it. Interim latency: the same, to the first poll that showed an interim
hypothesis of that chunk reaching that far (or the final, if it came first).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jiwer
import numpy as np

from stenograph.capture.decode import decode_to_pcm16
from stenograph.capture.stream import stream_file
from stenograph.runtime.settings import CommonSettings
from stenograph.schemas.meetings import parse_meeting_ref
from stenograph.transcribe.model import DecodeOptions, FasterWhisperTranscriber
from tests.support import DATA, Pipeline, make_pipeline, start_local_infra, words

RECORDINGS = ("ami_dev00.wav", "ami_trn01.wav", "ami_trn02.wav", "ami_trn03.wav", "pyannote_sample.wav",
              "jfk.flac")
REFERENCES = {"jfk.flac": "jfk.txt"}  # recordings with known reference text
CAPACITY_P95_S = 3.0
POLL_S = 0.2


@dataclass
class Watch:
    meeting: str
    started_ns: int = 0
    interim_seen: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # chunk -> (t, end)
    final_seen: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)


def _chunk_of(segment_id: str) -> str:
    return segment_id.rsplit("-", 1)[0]


async def _poll(p: Pipeline, w: Watch, stop: asyncio.Event) -> None:
    async with p.client() as c:
        while not stop.is_set():
            r = await c.get(f"/transcripts/{w.meeting}", params={"run": "live"})
            now = time.time()
            if r.status_code == 200:
                for s in r.json()["segments"]:
                    if s["completed"]:
                        w.final_seen.setdefault(s["segment_id"], (now, s))
                    else:
                        w.interim_seen.setdefault(_chunk_of(s["segment_id"]), []).append((now, s["end"]))
            await asyncio.sleep(POLL_S)


def _latencies(w: Watch) -> tuple[list[float], list[float]]:
    start = w.started_ns / 1e9
    interim, final = [], []
    for sid, (seen, s) in w.final_seen.items():
        spoken = start + s["end"]
        final.append(seen - spoken)
        early = [t for t, end in w.interim_seen.get(_chunk_of(sid), []) if end >= s["end"] - 0.5]
        interim.append(min([*early, seen]) - spoken)
    return interim, final


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3) if values else float("nan")


async def _run(p: Pipeline, n: int, tag: str) -> dict[str, Any]:
    settings = CommonSettings(kafka_bootstrap_servers=p.infra.bootstrap, redis_url=p.infra.redis_url,
                              topic_prefix=p.prefix)
    watches = [Watch(f"zoom/{tag}-{i}") for i in range(n)]
    stop = asyncio.Event()
    pollers = [asyncio.create_task(_poll(p, w, stop)) for w in watches]

    async def one(i: int) -> None:
        w = watches[i]
        w.started_ns = time.time_ns()  # stream_file's own start is within a few ms of this
        outcome = await stream_file(DATA / RECORDINGS[i % len(RECORDINGS)], parse_meeting_ref(w.meeting),
                                    settings, realtime=True)
        w.started_ns = outcome.result.last_frame_acked_ns - int(outcome.result.audio_seconds * 1e9)

    await asyncio.gather(*(one(i) for i in range(n)))
    await p.idle()
    await asyncio.sleep(3 * POLL_S)
    stop.set()
    await asyncio.gather(*pollers)
    interim: list[float] = []
    final: list[float] = []
    texts = {}
    for i, w in enumerate(watches):
        a, b = _latencies(w)
        interim += a
        final += b
        async with p.client() as c:  # the live finals (the default transcript is the settled one)
            body = (await c.get(f"/transcripts/{w.meeting}", params={"run": "live"})).json()
        texts[RECORDINGS[i % len(RECORDINGS)]] = " ".join(s["text"] for s in body["segments"])
    return {"meetings": n, "segments": len(final),
            "interim_p50_s": _pct(interim, 50), "interim_p95_s": _pct(interim, 95),
            "final_p50_s": _pct(final, 50), "final_p95_s": _pct(final, 95), "texts": texts}


def _streaming_penalty(texts: dict[str, str]) -> dict[str, Any]:
    """WER of the live final text against offline faster-whisper on the same file and settings,
    over the files where the offline pass finds words (some AMI excerpts are near-silent)."""
    model = FasterWhisperTranscriber("tiny.en")
    refs, hyps, per_file = [], [], {}
    for name, live in sorted(texts.items()):
        audio = np.frombuffer(decode_to_pcm16(DATA / name), dtype="<i2").astype(np.float32) / 32768.0
        offline = " ".join(words(" ".join(s.text for s in model.transcribe(audio, DecodeOptions()).segments)))
        live_words = " ".join(words(live))
        per_file[name] = {"offline_words": len(offline.split()), "live_words": len(live_words.split())}
        if offline:
            per_file[name]["wer"] = round(jiwer.wer(offline, live_words or "<empty>"), 3)
            refs.append(offline)
            hyps.append(live_words or "<empty>")
    corpus = round(jiwer.wer(refs, hyps), 3) if refs else None
    for name, ref_file in REFERENCES.items():
        if name in texts:
            reference = " ".join(words((DATA / ref_file).read_text()))
            live = " ".join(words(texts[name])) or "<empty>"
            per_file[name]["reference_wer"] = round(jiwer.wer(reference, live), 3)
    return {"corpus_wer": corpus, "files": per_file}


def started_pipeline(stack: ExitStack, env: dict[str, str] | None = None) -> Pipeline:
    """Broker, Redis, transcriber, aggregator and API on this machine (with `env` added to
    theirs), stopped by `stack`."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    infra = start_local_infra(stack, tmp / "infra")
    p = make_pipeline(infra, tmp / "pipeline")
    p.extra_env.update(env or {})
    stack.callback(p.stop)
    p.start("transcriber", "aggregator", "api")
    return p


def bench_live(counts: tuple[int, ...] = (1, 2, 4, 8)) -> dict[str, Any]:
    with ExitStack() as stack:
        p = started_pipeline(stack)
        runs = [asyncio.run(_run(p, n, f"live{n}")) for n in counts]
    texts: dict[str, str] = {}
    for r in runs:
        texts.update(r.pop("texts"))
    capacity = max((r["meetings"] for r in runs if r["final_p95_s"] <= CAPACITY_P95_S), default=0)
    return {"name": "live_latency", "poll_interval_s": POLL_S, "runs": runs,
            "capacity_meetings_at_final_p95_3s": capacity,
            "streaming_penalty": _streaming_penalty(texts),
            "targets": {"interim_p50_s": 1.0, "final_p50_s": 2.0, "final_p95_s_at_4": 3.0,
                        "meetings": 8, "penalty_wer": 0.01}}
