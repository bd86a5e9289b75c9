"""Live policies against offline, in one process and without Kafka: what each costs in words and
what it saves in latency (`python -m tests.bench.run policy`).

Each file of the quality corpus is cut into the 100 ms frames the pipeline carries and fed to:

- `pause`: the transcriber's own policy (transcribe/policy.py and segments.after_boundary,
  with the worker's settings): chunks of 5-15 s cut at a pause, each decoded with 5 s of left
  context, the context's words dropped;
- `stride S/H`: an experiment that is not in the product: every S s of audio the open audio
  is decoded with the same left context, and the words that end at least H s before its end
  are committed (cut between the last committed word and the next one). Its decode points are a
  function of the frames, like the product's, so it would be as crash-safe.
- `window S/B/H`: the product's `live_policy=agree` (transcribe/agree.py): the settling pass's
  windows (aligned with offline decoding's, up to 35 s) decoded every S s of audio as they
  grow, with beam B (the product's growing decodes take the interims' beam, 1); a word is final
  when two consecutive decodes agree on it, or it ends H s before the window's end (0: never),
  and the window holds 4 s; the window's full decode
  finalizes the rest of what it settles, as offline would. Also a function of the frames.
- `chunk-agree 1.0/B`: an experiment that is not in the product: `pause`'s chunks and context,
  the open chunk decoded every second of audio with beam B, words final when two decodes agree
  (2 s of the chunk heard), the chunk's own decode finalizing the rest.

WER is against offline faster-whisper over the same frames (same model and decode settings, all
of its segments, as the quality benchmark takes it; the policies keep what the transcriber's
plausibility filter keeps).
Latency is estimated per final word, as the audio time at which its decode started (the frame
that triggered it) plus that decode's measured time, minus the word's end: the pipeline adds
its own overhead (Kafka, aggregator, API polling: tens of ms, see the overhead benchmark) and
the wait for a busy model, which this does not.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import jiwer

from stenograph.capture.decode import decode_to_pcm16
from stenograph.schemas.pcm import samples
from stenograph.transcribe.agree import (
    Agreement,
    Heard,
    heard,
    pending_segments,
    split_words,
    stride_point,
)
from stenograph.transcribe.integrity import is_digital_zero
from stenograph.transcribe.model import DecodeOptions, FasterWhisperTranscriber, ModelSegment, Transcription
from stenograph.transcribe.policy import BufferedFrame, Chunk, ChunkBuffer, ChunkPolicy, ContextTail
from stenograph.transcribe.segments import after_boundary, plausible
from stenograph.transcribe.settings import TranscriberSettings
from stenograph.transcribe.settle import SettleBuffer, Window, settled_part
from stenograph.transcribe.vad import speech_probability
from tests.support import DATA, words

FILES = ("jfk.flac", "meetings/standup.wav", "meetings/incident.wav", "pyannote_sample.wav",
         "ami_dev00.wav", "ami_trn03.wav")  # the quality corpus less the two with no words offline
FRAME_BYTES, FRAME_S = 3200, 0.1
STRIDES = ((1.0, 0.3), (1.0, 0.6), (1.0, 1.0), (1.5, 1.0), (2.0, 1.0))
WINDOWS = ((1.0, 1, 0.0), (1.0, 1, 3.0), (1.0, 5, 3.0))  # (stride s, beam, hold s): live_policy=agree
CHUNK_AGREE_BEAMS = (1, 5)  # beams of the growing decodes of the open-chunk experiment
OPTIONS = DecodeOptions()

Decode = Callable[..., tuple[Transcription, float]]  # (pcm, lead samples=0, beam=5)
Outcome = tuple[list[str], list[float], int]  # final words, their latencies, decodes


def _frames(pcm: bytes) -> list[BufferedFrame]:
    pcm += bytes(-len(pcm) % FRAME_BYTES)
    out = []
    for i in range(len(pcm) // FRAME_BYTES):
        p = pcm[i * FRAME_BYTES:(i + 1) * FRAME_BYTES]
        out.append(BufferedFrame(seq=i, offset=i, capture_time_ns=int(i * FRAME_S * 1e9), payload=p,
                                 duration_s=FRAME_S, speech=speech_probability(p), zero=is_digital_zero(p)))
    return out


def _kept(result: Transcription) -> list[ModelSegment]:
    return plausible(result.segments, OPTIONS)


def pause_policy(frames: list[BufferedFrame], decode: Decode) -> Outcome:
    s = TranscriberSettings()
    policy = ChunkPolicy(min_s=s.chunk_min_s, max_s=s.chunk_max_s)
    buffer, context = ChunkBuffer(policy), ContextTail(max_s=s.context_s)
    out: list[str] = []
    latency: list[float] = []
    decodes = 0

    def final(chunk: Chunk, at_s: float) -> None:
        nonlocal decodes
        left, left_s = context.pcm(), context.seconds
        context.extend(chunk.frames)
        if not policy.worth_decoding(chunk):
            return
        result, took = decode(left + chunk.pcm())
        decodes += 1
        start_s = chunk.seq_first * FRAME_S
        for seg in _kept(after_boundary(result, left_s)):
            out.append(seg.text)
            latency.extend(at_s + took - (start_s + w.end) for w in seg.words)

    for f in frames:
        if (chunk := buffer.push(f)) is not None:
            final(chunk, (f.seq + 1) * FRAME_S)
    if (chunk := buffer.flush()) is not None:
        final(chunk, len(frames) * FRAME_S)
    return out, latency, decodes


def stride_policy(frames: list[BufferedFrame], decode: Decode, stride_s: float, hold_s: float) -> Outcome:
    s = TranscriberSettings()
    policy, context = ChunkPolicy(), ContextTail(max_s=s.context_s)
    open_frames: list[BufferedFrame] = []
    out: list[str] = []
    latency: list[float] = []
    decodes = 0

    def step(last: bool) -> None:
        nonlocal open_frames, decodes
        chunk = Chunk(tuple(open_frames))
        if not policy.worth_decoding(chunk):
            if last or len(open_frames) * FRAME_S >= 3.0:  # nobody spoke: let the audio go
                context.extend(open_frames)
                open_frames = []
            return
        left, left_s = context.pcm(), context.seconds
        result, took = decode(left + chunk.pcm())
        decodes += 1
        end_s = len(open_frames) * FRAME_S
        said = [w for seg in _kept(after_boundary(result, left_s)) for w in seg.words]
        n = len(said) if last else sum(1 for w in said if w.end <= end_s - hold_s)
        if n == 0:
            return
        at_s, start_s = (open_frames[-1].seq + 1) * FRAME_S, open_frames[0].seq * FRAME_S
        out.extend(w.word for w in said[:n])
        latency.extend(at_s + took - (start_s + w.end) for w in said[:n])
        cut_s = end_s if last else (said[n - 1].end + (said[n].start if n < len(said) else end_s)) / 2
        k = max(1, min(len(open_frames), round(cut_s / FRAME_S)))
        context.extend(open_frames[:k])
        open_frames = open_frames[k:]

    since = 0.0
    for f in frames:
        open_frames.append(f)
        since += f.duration_s
        if since + 1e-6 >= stride_s:
            since = 0.0
            step(last=False)
    if open_frames:
        step(last=True)
    return out, latency, decodes


def window_policy(frames: list[BufferedFrame], decode: Decode, stride_s: float, beam: int,
                  hold_s: float) -> Outcome:
    """The product's live_policy=agree (transcribe/agree.py) over one file, without Kafka."""
    buffer, agreement = SettleBuffer(), Agreement(agree_from_s=TranscriberSettings().agree_from_s)
    out: list[str] = []
    latency: list[float] = []
    decodes = 0

    def finalize(segments: list[ModelSegment], start_s: float, agreed: int | None,
                 at_s: float) -> list[Heard]:
        pending = pending_segments(segments, start_s, agreement.final_until_s)
        final = pending if agreed is None else split_words(pending, agreed)[0]
        for w in (w for s in final for w in s.words):
            out.append(w.word)
            latency.append(at_s - (start_s + w.end))
        agreement.finalized(final, start_s)
        return heard(segments, start_s)

    for i, f in enumerate(frames):
        buffer.push(f)
        buffer.ended = i == len(frames) - 1
        now = (f.seq + 1) * FRAME_S
        if buffer.due():  # the full window, decoded as the settling pass does
            window = buffer.window()
            assert window is not None
            if not ChunkPolicy().worth_decoding(window.chunk):
                buffer.consume(window.seconds)
                agreement.decoded(f.seq, None)
                continue
            result, took = decode(window.lead + window.chunk.pcm(), window.lead_samples)
            decodes += 1
            segments, settled_s = settled_part(result.segments, window)  # as the product: raw
            start_s = window.chunk.frames[0].seq * FRAME_S + window.skip_s
            finalize(plausible(segments, OPTIONS), start_s, None, now + took)
            buffer.consume(settled_s)
            agreement.decoded(f.seq, None)
        elif stride_point(f, 0, stride_s) and buffer.frames:
            window = Window(Chunk(tuple(buffer.frames)), final=False, skip=buffer.skip,
                            lead=buffer.lead.pcm())
            if not ChunkPolicy().worth_decoding(window.chunk):
                agreement.decoded(f.seq, [])
                continue
            result, took = decode(window.lead + window.chunk.pcm(), window.lead_samples, beam)
            decodes += 1
            start_s = window.chunk.frames[0].seq * FRAME_S + window.skip_s
            said = _kept(result)
            held_until = start_s + window.seconds - hold_s if hold_s > 0 else float("-inf")
            agreed = agreement.agreed(heard(said, start_s), window.seconds, held_until)
            agreement.decoded(f.seq, finalize(said, start_s, agreed, now + took))
    return out, latency, decodes


def chunk_agree_policy(frames: list[BufferedFrame], decode: Decode, beam: int) -> Outcome:
    s = TranscriberSettings()
    policy = ChunkPolicy(min_s=s.chunk_min_s, max_s=s.chunk_max_s)
    buffer, context = ChunkBuffer(policy), ContextTail(max_s=s.context_s)
    agreement = Agreement(agree_from_s=2.0)
    out: list[str] = []
    latency: list[float] = []
    decodes = 0

    def step(chunk: Chunk, at_s: float, final: bool) -> None:
        nonlocal decodes
        left, left_s = context.pcm(), context.seconds
        if final:
            context.extend(chunk.frames)
        if not policy.worth_decoding(chunk):
            return
        result, took = decode(left + chunk.pcm(), 0, OPTIONS.beam_size if final else beam)
        decodes += 1
        start_s = chunk.seq_first * FRAME_S - left_s
        # the context's words are the chunk before's: never final here
        floor = max(agreement.final_until_s, chunk.seq_first * FRAME_S)
        pending = pending_segments(_kept(result), start_s, floor)
        said = heard(pending, start_s)
        if final:
            done = pending
        else:
            agreement.final_until_s, before = floor, agreement.final_until_s
            done = split_words(pending, agreement.agreed(said, chunk.seconds))[0]
            agreement.final_until_s = before
        for w in (w for seg in done for w in seg.words):
            out.append(w.word)
            latency.append(at_s + took - (start_s + w.end))
        agreement.finalized(done, start_s)
        agreement.decoded(chunk.seq_last, None if final else said)

    for f in frames:
        if (chunk := buffer.push(f)) is not None:
            step(chunk, (f.seq + 1) * FRAME_S, final=True)
        elif stride_point(f, 0, 1.0) and buffer.frames:
            step(Chunk(tuple(buffer.frames)), (f.seq + 1) * FRAME_S, final=False)
    if (chunk := buffer.flush()) is not None:
        step(chunk, len(frames) * FRAME_S, final=True)
    return out, latency, decodes


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]), 2) if ordered else float("nan")


def bench_policy() -> dict[str, Any]:
    model = FasterWhisperTranscriber("tiny.en")

    def decode(pcm: bytes, lead: int = 0, beam: int = OPTIONS.beam_size) -> tuple[Transcription, float]:
        t0 = time.monotonic()
        result = model.transcribe(samples(pcm), replace(OPTIONS, beam_size=beam), lead)
        return result, time.monotonic() - t0

    corpus = {name: _frames(decode_to_pcm16(DATA / name)) for name in FILES}
    offline = {}
    for name, fr in corpus.items():
        result, _ = decode(b"".join(f.payload for f in fr))
        offline[name] = " ".join(words(" ".join(s.text for s in result.segments)))
    runs: dict[str, Callable[[list[BufferedFrame]], Outcome]] = {
        "pause": partial(pause_policy, decode=decode)}
    for stride_s, hold_s in STRIDES:
        runs[f"stride {stride_s}/{hold_s}"] = partial(stride_policy, decode=decode, stride_s=stride_s,
                                                      hold_s=hold_s)
    for stride_s, beam, hold_s in WINDOWS:
        runs[f"window {stride_s}/{beam}/{hold_s}"] = partial(window_policy, decode=decode, stride_s=stride_s,
                                                             beam=beam, hold_s=hold_s)
    for beam in CHUNK_AGREE_BEAMS:
        runs[f"chunk-agree 1.0/{beam}"] = partial(chunk_agree_policy, decode=decode, beam=beam)
    # STENOGRAPH_BENCH_POLICIES=pause,window: only the policies whose label starts so
    only = [p for p in os.environ.get("STENOGRAPH_BENCH_POLICIES", "").split(",") if p]
    rows = []
    for label, run in runs.items():
        if only and not label.startswith(tuple(only)):
            continue
        refs, hyps, latency, decodes, audio_s, files = [], [], [], 0, 0.0, {}
        for name, fr in corpus.items():
            said, lat, n = run(fr)
            hyp = " ".join(words(" ".join(said))) or "<empty>"
            files[name] = round(jiwer.wer(offline[name], hyp), 3)
            refs.append(offline[name])
            hyps.append(hyp)
            latency += lat
            decodes += n
            audio_s += len(fr) * FRAME_S
        rows.append({"policy": label, "wer_vs_offline": round(jiwer.wer(refs, hyps), 4),
                     "final_latency_p50_s": _pct(latency, 0.5), "final_latency_p95_s": _pct(latency, 0.95),
                     "decodes_per_audio_s": round(decodes / audio_s, 2), "files": files})
        print(rows[-1], flush=True)
    return {"name": "policy", "model": "tiny.en int8", "policies": rows}
