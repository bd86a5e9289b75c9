"""Transcript quality against offline faster-whisper, live and settled, with their latencies.

Each recording is streamed in real time through the whole pipeline (capture -> Kafka ->
transcriber -> aggregator -> Redis -> API), one meeting at a time, then four at once. The API
is polled while it runs:

- live final latency: from the moment a final segment's audio had been published (session
  start + segment end) to the first poll of `?run=live` that shows it; interim latency: to the
  first poll that showed an interim reaching as far (within 0.5 s), or the final. Per word too,
  as the issue defines latency (each word's end, from `?words=true`): a segment's first words
  wait for its last;
- settled lag: from the same moment to the first poll of the default transcript that shows a
  settled segment covering it.

Offline is faster-whisper over the whole file with the transcriber's own model and decode
settings (beam 5, VAD, temperature 0, no previous-text conditioning), on the audio as the
pipeline stored it (the file cut into 100 ms frames, the last one zero-padded): tiny.en on
AMI's rooms is so sensitive that 2 ms of padding alone moves an offline pass by 15 % of its
words, so that figure is printed too, as the floor of any comparison on those files.

Compute: the transcriber's model time per kind (final, interim, settle; grow under
live_policy=agree), from its log. `quality` runs the default policy (pause), `quality-agree`
the agreement policy (transcribe/agree.py).
"""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import jiwer

from stenograph.capture.decode import decode_to_pcm16
from stenograph.capture.stream import stream_file
from stenograph.runtime.settings import CommonSettings
from stenograph.schemas.meetings import parse_meeting_ref
from stenograph.schemas.pcm import samples
from stenograph.transcribe.model import DecodeOptions, FasterWhisperTranscriber
from tests.bench.live import _pct, started_pipeline
from tests.support import DATA, Pipeline, words

CORPUS = ("jfk.flac", "meetings/standup.wav", "meetings/incident.wav", "pyannote_sample.wav",
          "ami_dev00.wav", "ami_trn01.wav", "ami_trn02.wav", "ami_trn03.wav")
REFERENCES = {"jfk.flac": "jfk.txt", "meetings/standup.wav": "meetings/standup.txt",
              "meetings/incident.wav": "meetings/incident.txt"}
FRAME_BYTES = 3200
POLL_S = 0.2
LATENCIES = ("interim", "final", "settled", "interim_word", "final_word")  # the samples' kinds


@dataclass
class Watch:
    meeting: str
    started_ns: int = 0
    interim_seen: list[tuple[float, float]] = field(default_factory=list)  # (seen, end), any interim
    final_seen: dict[str, tuple[float, float]] = field(default_factory=dict)  # id -> (seen, end)
    final_words: dict[str, list[float]] = field(default_factory=dict)  # id -> its words' ends
    settled_seen: dict[str, tuple[float, float]] = field(default_factory=dict)


async def _poll(p: Pipeline, w: Watch, stop: asyncio.Event) -> None:
    async with p.client() as c:
        while not stop.is_set():
            live = await c.get(f"/transcripts/{w.meeting}", params={"run": "live", "words": "true"})
            default = await c.get(f"/transcripts/{w.meeting}")
            now = time.time()
            if live.status_code == 200:
                for s in live.json()["segments"]:
                    if s["completed"]:
                        w.final_seen.setdefault(s["segment_id"], (now, s["end"]))
                        w.final_words.setdefault(s["segment_id"], [x["end"] for x in s["words"]])
                    else:
                        w.interim_seen.append((now, s["end"]))
            if default.status_code == 200:
                for s in default.json()["segments"]:
                    if s["run_id"] == "settled":
                        w.settled_seen.setdefault(s["segment_id"], (now, s["end"]))
            await asyncio.sleep(POLL_S)


def _latencies(w: Watch) -> dict[str, list[float]]:
    start = w.started_ns / 1e9
    interim, final, interim_word, final_word = [], [], [], []
    for segment_id, (seen, end) in w.final_seen.items():
        final.append(seen - (start + end))
        early = [t for t, e in w.interim_seen if e >= end - 0.5]
        interim.append(min([*early, seen]) - (start + end))
        for word_end in w.final_words[segment_id]:
            final_word.append(seen - (start + word_end))
            early = [t for t, e in w.interim_seen if e >= word_end - 0.5]
            interim_word.append(min([*early, seen]) - (start + word_end))
    settled = [seen - (start + end) for seen, end in w.settled_seen.values()]
    return {"interim": interim, "final": final, "settled": settled, "interim_word": interim_word,
            "final_word": final_word}


async def _run(p: Pipeline, files: tuple[str, ...], tag: str) -> dict[str, Any]:
    """The files streamed at once, in real time; latencies and each file's texts."""
    settings = CommonSettings(kafka_bootstrap_servers=p.infra.bootstrap, redis_url=p.infra.redis_url,
                              topic_prefix=p.prefix)
    watches = [Watch(f"zoom/{tag}-{i}") for i in range(len(files))]
    stop = asyncio.Event()
    pollers = [asyncio.create_task(_poll(p, w, stop)) for w in watches]

    async def one(i: int) -> None:
        w = watches[i]
        w.started_ns = time.time_ns()
        outcome = await stream_file(DATA / files[i], parse_meeting_ref(w.meeting), settings, realtime=True)
        w.started_ns = outcome.result.last_frame_acked_ns - int(outcome.result.audio_seconds * 1e9)

    await asyncio.gather(*(one(i) for i in range(len(files))))
    await p.idle()
    await asyncio.sleep(3 * POLL_S)
    stop.set()
    await asyncio.gather(*pollers)
    lat: dict[str, list[float]] = {k: [] for k in LATENCIES}
    texts: dict[str, dict[str, str]] = {}
    async with p.client() as c:
        for name, w in zip(files, watches, strict=True):
            for k, v in _latencies(w).items():
                lat[k] += v
            live = (await c.get(f"/transcripts/{w.meeting}", params={"run": "live"})).json()
            default = (await c.get(f"/transcripts/{w.meeting}")).json()
            texts[name] = {"live": _text(live), "settled": _text(default)}
    return {"meetings": len(files), "finals": len(lat["final"]),
            "interim_p50_s": _pct(lat["interim"], 50), "final_p50_s": _pct(lat["final"], 50),
            "final_p95_s": _pct(lat["final"], 95), **_word_figures(lat),
            "settled_lag_p50_s": _pct(lat["settled"], 50),
            "settled_lag_p95_s": _pct(lat["settled"], 95), "texts": texts, "samples": lat}


def _word_figures(lat: dict[str, list[float]]) -> dict[str, float]:
    return {"interim_word_p50_s": _pct(lat["interim_word"], 50),
            "final_word_p50_s": _pct(lat["final_word"], 50), "final_word_p95_s": _pct(lat["final_word"], 95)}


def _text(body: dict[str, Any]) -> str:
    return " ".join(words(" ".join(s["text"] for s in body["segments"])))


def _offline(model: FasterWhisperTranscriber, pcm: bytes) -> str:
    result = model.transcribe(samples(pcm), DecodeOptions())
    return " ".join(words(" ".join(s.text for s in result.segments)))


def _wer(reference: str, hypothesis: str) -> float:
    return round(jiwer.wer(reference, hypothesis or "<empty>"), 3)


def _quality(texts: dict[str, dict[str, str]]) -> dict[str, Any]:
    model = FasterWhisperTranscriber("tiny.en")
    files: dict[str, dict[str, Any]] = {}
    pairs: dict[str, tuple[list[str], list[str]]] = {"live": ([], []), "settled": ([], [])}
    for name, t in texts.items():
        pcm = decode_to_pcm16(DATA / name)
        stored = pcm + bytes(-len(pcm) % FRAME_BYTES)  # as the frames carry it
        offline, raw = _offline(model, stored), _offline(model, pcm)
        row: dict[str, Any] = {"offline_words": len(offline.split())}
        if offline:
            row.update(live_vs_offline=_wer(offline, t["live"]),
                       settled_vs_offline=_wer(offline, t["settled"]),
                       offline_padding_floor=_wer(raw, offline))
            for run in pairs:
                pairs[run][0].append(offline)
                pairs[run][1].append(t[run] or "<empty>")
        if name in REFERENCES:
            script = " ".join(words((DATA / REFERENCES[name]).read_text()))
            row.update(offline_vs_script=_wer(script, offline), live_vs_script=_wer(script, t["live"]),
                       settled_vs_script=_wer(script, t["settled"]))
        files[name] = row
    corpus = {f"{run}_vs_offline": round(jiwer.wer(refs, hyps), 4) for run, (refs, hyps) in pairs.items()}
    return {"corpus": corpus, "files": files}


def _model_time(log: str) -> dict[str, float]:
    """The transcriber's last 'model time' line: seconds per kind of decode."""
    lines = re.findall(r"model time: (.*)", log)
    if not lines:
        return {}
    return {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+) s", lines[-1])}


def bench_quality(concurrent: int = 4, policy: str = "pause") -> dict[str, Any]:
    """The corpus through the pipeline whose transcriber runs live_policy `policy`."""
    with ExitStack() as stack:
        p = started_pipeline(stack, {"STENOGRAPH_LIVE_POLICY": policy})
        singles = [asyncio.run(_run(p, (name,), f"quality-{i}")) for i, name in enumerate(CORPUS)]
        p.procs["transcriber"].stop()
        compute = _model_time(p.procs["transcriber"].log_file.read_text())
        p.start("transcriber")
        together = asyncio.run(_run(p, CORPUS[:concurrent], f"quality-x{concurrent}"))
        together.pop("texts")
        together.pop("samples")
    texts = {name: r.pop("texts")[name] for name, r in zip(CORPUS, singles, strict=True)}
    pooled: dict[str, list[float]] = {k: [] for k in LATENCIES}
    for r in singles:
        for k, v in r.pop("samples").items():
            pooled[k] += v
    one = {"finals": len(pooled["final"]), "interim_p50_s": _pct(pooled["interim"], 50),
           "final_p50_s": _pct(pooled["final"], 50), "final_p95_s": _pct(pooled["final"], 95),
           **_word_figures(pooled), "settled_lag_p50_s": _pct(pooled["settled"], 50),
           "settled_lag_p95_s": _pct(pooled["settled"], 95)}
    live_decode_s = compute.get("final", 0.0) + compute.get("interim", 0.0) + compute.get("grow", 0.0)
    audio_s = sum(len(decode_to_pcm16(DATA / name)) / 32000 for name in CORPUS)
    return {
        "name": "transcript_quality", "live_policy": policy, "model": "tiny.en", "poll_interval_s": POLL_S,
        "model_s_per_audio_s": round(sum(compute.values()) / audio_s, 3),
        "one_meeting": {**one, "per_file": {n: {k: v for k, v in r.items() if k != "meetings"}
                                            for n, r in zip(CORPUS, singles, strict=True)}},
        f"{concurrent}_meetings": together,
        "model_time_s": compute,
        "settle_share_of_live_decoding": round(compute.get("settle", 0.0) / live_decode_s, 3)
        if live_decode_s else None,
        "quality": _quality(texts),
        "targets": {"live_vs_offline_corpus": 0.05, "live_vs_script": "offline + 0.02",
                    "settled_vs_offline": 0.005, "final_p50_s": 1.5, "final_p95_s": 3.0,
                    "interim_p50_s": 0.8, "settled_lag_p95_s": 45.0, "settle_share": 0.25},
    }
