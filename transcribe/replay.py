"""Pure parts of a replay: reassembling a session's audio, sentence segments, progress."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

from stenograph.schemas import AudioFrame
from stenograph.transcribe.model import ModelSegment

SENTENCE_END = (".", "?", "!", "\u3002", "\uff1f", "\uff01")  # and CJK full stops


@dataclass(frozen=True)
class SessionAudio:
    """A session's PCM in seq order; gaps and corrupt frames are filled with silence."""

    session_id: str
    pcm: bytes
    seq_first: int
    seq_last: int
    capture_time_ns: int  # of seq_first
    session_started_at_ns: int
    sample_rate: int
    missing: int  # frames filled with silence

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (2 * self.sample_rate)


def assemble(frames: Iterable[AudioFrame]) -> SessionAudio | None:
    """One session's frames (any order, duplicates allowed) as continuous audio."""
    by_seq: dict[int, AudioFrame] = {}
    for f in frames:
        if zlib.crc32(f.payload) == f.crc32:
            by_seq.setdefault(f.seq, f)
    if not by_seq:
        return None
    first = by_seq[min(by_seq)]
    size = len(first.payload)
    parts: list[bytes] = []
    missing = 0
    for seq in range(min(by_seq), max(by_seq) + 1):
        frame = by_seq.get(seq)
        if frame is None:
            parts.append(bytes(size))
            missing += 1
        else:
            parts.append(frame.payload)
    return SessionAudio(
        session_id=first.session_id, pcm=b"".join(parts), seq_first=first.seq,
        seq_last=max(by_seq), capture_time_ns=first.capture_time_ns,
        session_started_at_ns=first.session_started_at_ns, sample_rate=first.sample_rate,
        missing=missing,
    )


def split_sentences(seg: ModelSegment, min_s: float = 1.0) -> list[ModelSegment]:
    """Long batched segments cut at sentence ends using word timestamps (easier to read)."""
    if not seg.words:
        return [seg]
    out: list[ModelSegment] = []
    start = 0
    for i, w in enumerate(seg.words):
        last = i == len(seg.words) - 1
        ends = w.word.strip().endswith(SENTENCE_END) and w.end - seg.words[start].start >= min_s
        if ends or last:
            words = seg.words[start : i + 1]
            out.append(replace(
                seg, start=words[0].start if start else seg.start,
                end=w.end if not last else seg.end, words=words,
                text="".join(x.word for x in words),
            ))
            start = i + 1
    return out


def eta_s(elapsed_s: float, fraction: float) -> float | None:
    """Remaining seconds at the pace so far; None before there is a pace."""
    if fraction <= 0.0 or elapsed_s <= 0.0:
        return None
    return max(0.0, elapsed_s * (1.0 - fraction) / fraction)
