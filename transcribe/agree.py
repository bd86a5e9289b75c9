"""Pure: live finals by agreement over the settling window as it grows (`live_policy=agree`).

The window is the settling pass's (transcribe/settle.py), which starts where offline decoding
starts its windows. At every stride_s of the session's audio the window is decoded again as it
stands; a word is final once two consecutive decodes of the same window agree on it and on
every word before it (LocalAgreement-2, as in ufal/whisper_streaming) and the window holds at
least agree_from_s (the first seconds of a window are too little for the model: "And so my
fellow" came out "and so am I" twice running). What is not final yet is the interim. When the
window is due, its full decode settles it and finalizes the rest of what it settles, as
offline decoding would.

Decode points are a function of each frame's place in the session and agreement a function of
the decodes, so a re-read after a crash makes the same decisions; the checkpoint carries what
a re-read cannot see again (the last decode point, the one to agree with, and where finals end).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from stenograph.transcribe.model import ModelSegment, ModelWord
from stenograph.transcribe.policy import EPS_S, BufferedFrame
from stenograph.transcribe.segments import word_key

NO_DECODE = -1


def stride_point(frame: BufferedFrame, session_started_at_ns: int, stride_s: float) -> bool:
    """Whether the session's audio crosses a multiple of stride_s within this frame."""
    start = (frame.capture_time_ns - session_started_at_ns) / 1e9
    end = start + frame.duration_s
    return math.floor((end + EPS_S) / stride_s) > math.floor((start + EPS_S) / stride_s)


@dataclass(frozen=True)
class Heard:
    """A word of a decode, placed in the session (seconds from its start)."""

    middle_s: float
    key: str  # the word as compared: lower case, no punctuation
    end_s: float


@dataclass
class Agreement:
    """One session's agreement state.

    Frames below next_seq were decided upon before a restart: their decode points are skipped
    on a re-read, but for the one at previous_seq, decoded again to agree with.
    """

    agree_from_s: float = 4.0
    final_until_s: float = float("-inf")  # where the session's last final word ends
    previous: tuple[Heard, ...] | None = None  # the last growing decode of this window
    next_seq: int = 0
    previous_seq: int = NO_DECODE

    def pending(self, heard: Sequence[Heard]) -> list[Heard]:
        return [h for h in heard if h.middle_s > self.final_until_s]

    def agreed(self, heard: Sequence[Heard], window_s: float, held_until_s: float = float("-inf")) -> int:
        """How many of a growing decode's pending words are final now: those the decode before
        agrees on, and those that end by held_until_s whatever it said (a span the model keeps
        changing its mind on waits for the window's full decode otherwise)."""
        if window_s + EPS_S < self.agree_from_s:
            return 0
        now = self.pending(heard)
        held = 0
        while held < len(now) and now[held].end_s <= held_until_s:
            held += 1
        if self.previous is None:
            return held
        before = self.pending(self.previous)
        n = 0
        while n < min(len(now), len(before)) and now[n].key and now[n].key == before[n].key:
            n += 1
        return max(n, held)

    def decoded(self, seq: int, heard: Sequence[Heard] | None) -> None:
        """A decode at frame seq: a growing one (what it heard) or the window's full one (None:
        the next window has nothing to agree with yet)."""
        self.previous = tuple(heard) if heard is not None else None
        self.previous_seq = seq if heard is not None else NO_DECODE
        self.next_seq = seq + 1

    def finalized(self, segments: Sequence[ModelSegment], window_start_s: float) -> None:
        ends = [window_start_s + w.end for s in segments for w in s.words]
        ends += [window_start_s + s.end for s in segments if not s.words]
        if ends:  # to the millisecond, as the checkpoint carries it: a restart decides alike
            self.final_until_s = round(max(self.final_until_s, *ends), 3)


def heard(segments: Sequence[ModelSegment], window_start_s: float) -> list[Heard]:
    return [Heard(window_start_s + (w.start + w.end) / 2, word_key(w.word), window_start_s + w.end)
            for s in segments for w in s.words]


def pending_segments(
    segments: Sequence[ModelSegment], window_start_s: float, final_until_s: float,
) -> list[ModelSegment]:
    """The segments less the words already final (their middle before final_until_s)."""
    out = []
    for seg in segments:
        if not seg.words:
            if window_start_s + (seg.start + seg.end) / 2 > final_until_s:
                out.append(seg)
            continue
        words = tuple(w for w in seg.words if window_start_s + (w.start + w.end) / 2 > final_until_s)
        if words:
            out.append(_of_words(seg, words))
    return out


def not_before(segments: Sequence[ModelSegment], floor_s: float) -> list[ModelSegment]:
    """The segments with no word starting before floor_s (window seconds): where the finals
    before them end. Decodes place a word's start some tens of ms apart, and finals that
    overlap the ones before them are dropped by clients that keep a segment only when it starts
    at or after the last one's end (whisper-live's own client does)."""
    out = []
    for seg in segments:
        if seg.start >= floor_s and all(w.start >= floor_s for w in seg.words):
            out.append(seg)
            continue
        words = tuple(replace(w, start=max(w.start, floor_s)) for w in seg.words)
        out.append(replace(seg, start=max(seg.start, floor_s), end=max(seg.end, floor_s), words=words))
    return out


def split_words(
    segments: Sequence[ModelSegment], n: int,
) -> tuple[list[ModelSegment], list[ModelSegment]]:
    """The first n words of the segments (final), and the rest (interim), segment by segment."""
    final: list[ModelSegment] = []
    rest: list[ModelSegment] = []
    for seg in segments:
        take = min(n, len(seg.words))
        n -= take
        if take:
            final.append(_of_words(seg, seg.words[:take]))
        if take < len(seg.words):
            rest.append(_of_words(seg, seg.words[take:]))
    return final, rest


def _of_words(seg: ModelSegment, words: tuple[ModelWord, ...]) -> ModelSegment:
    if words == seg.words:
        return seg
    return replace(seg, start=words[0].start, end=words[-1].end, words=words,
                   text="".join(w.word for w in words))
