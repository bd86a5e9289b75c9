"""How far offline is from itself: the floor under any "live against offline" figure
(`python -m tests.bench.run floor`, about 4 minutes).

Offline is faster-whisper over the whole file with the transcriber's model and decode settings
(beam 5, VAD, temperature 0, no previous-text conditioning), on the audio as the pipeline stores
it (100 ms frames, the last zero-padded), as in the quality benchmark. The same pass is run again
over the same audio with a few milliseconds of digital silence before it (every window then
starts that much earlier in the speech: a live cut moves a window by up to a frame, 100 ms, and
more) or after it, and each is compared with the unshifted pass. Nothing else changes, so any
difference is tiny.en's own sensitivity to where its windows start, which no live policy can be
nearer to offline than.
"""

from __future__ import annotations

import statistics
from typing import Any

import jiwer

from stenograph.capture.decode import decode_to_pcm16
from stenograph.transcribe.model import FasterWhisperTranscriber
from tests.bench.policy import FILES  # the quality corpus less the two with no words offline
from tests.bench.quality import FRAME_BYTES, _offline
from tests.support import DATA

OFFLINE_ONLY = ("pyannote_sample.wav", "ami_dev00.wav", "ami_trn03.wav")  # no reference text
SHIFTS_MS = (2, 10, 20, 50, 100, 200)
BYTES_PER_MS = 32  # 16 kHz, 16-bit mono


def bench_floor() -> dict[str, Any]:
    model = FasterWhisperTranscriber("tiny.en")

    def offline(pcm: bytes) -> str:
        return _offline(model, pcm) or "<empty>"

    base: dict[str, str] = {}
    shifted: dict[str, dict[str, str]] = {}  # file -> "lead 10" / "tail 10" -> text
    for name in FILES:
        pcm = decode_to_pcm16(DATA / name)
        stored = pcm + bytes(-len(pcm) % FRAME_BYTES)
        base[name] = offline(stored)
        shifted[name] = {}
        for ms in SHIFTS_MS:
            silence = bytes(BYTES_PER_MS * ms)
            shifted[name][f"lead {ms}"] = offline(silence + stored)
            shifted[name][f"tail {ms}"] = offline(stored + silence)
    labels = list(shifted[FILES[0]])
    per_file = {name: {"offline_words": len(base[name].split()),
                       **{label: round(jiwer.wer(base[name], shifted[name][label]), 3) for label in labels}}
                for name in FILES}
    offline_only = {label: round(jiwer.wer([base[n] for n in OFFLINE_ONLY],
                                           [shifted[n][label] for n in OFFLINE_ONLY]), 3)
                    for label in labels}
    # 2 ms is left out of the median: there tiny.en loops past the end of one file
    leads = [offline_only[f"lead {ms}"] for ms in SHIFTS_MS if ms >= 10]
    return {"name": "offline_floor", "model": "tiny.en int8", "shifts_ms": list(SHIFTS_MS),
            "offline_only_corpus": offline_only,
            "offline_only_lead_10_200ms_median": round(statistics.median(leads), 3),
            "files": per_file,
            # the texts, to read what changed (a shift can also find words the unshifted pass dropped)
            "texts": {name: {"offline": base[name], **shifted[name]} for name in OFFLINE_ONLY}}
