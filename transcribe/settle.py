"""Pure settling windows: a session's audio behind the live edge, decoded the way offline
faster-whisper decodes a recording.

Offline, Whisper decodes 30 s of speech (the VAD has cut the silences out), keeps the segments
it finished and starts its next window where the last finished segment ended (its seek). A
SettleBuffer does the same over a stream: once window_s are buffered (a little more than 30 s,
so the model's first window is full after the VAD) it hands out a window; of the decode it
keeps only what the model's first window produced and starts the next window where the model
began its second one (when the VAD fit everything into one model window: where the
next-to-last segment's last word ends). The window holding the stream's last frame keeps
everything. Every step is a function of the frames and the model's output, so a re-read after
a crash settles the same windows.

The next window starts there to the sample, not at the frame that holds it: Whisper is chaotic
to a few milliseconds of where its window starts (on a synthetic meeting, starting 84 ms early
changed "a deployment at 12.15" into "a deploy market 12, 15"). The settled seconds just before
the window (`lead`) go to the model too, for its voice activity detection only: offline, the
VAD has heard what came before, and a window whose VAD starts cold cuts the pause it starts in
where offline keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stenograph.schemas import BYTES_PER_SAMPLE, SAMPLE_RATE, samples
from stenograph.transcribe.model import ModelSegment
from stenograph.transcribe.policy import EPS_S, BufferedFrame, Chunk, ContextTail, HeldFrames

MIN_ADVANCE_S = 1.0  # a window always settles at least this much, so settling always moves
LEAD_S = 3.0  # settled audio the VAD hears before a window: more than its 2 s minimum silence


@dataclass(frozen=True)
class Window:
    chunk: Chunk
    # the stream's last audio, or audio up to a change of the meeting's settings: nothing comes
    # after it in the same decode, so everything decoded is kept
    final: bool
    skip: int = 0  # samples at the start of its first frame settled by the window before
    lead: bytes = b""  # settled audio before its first frame, for the VAD only (PCM)

    @property
    def skip_s(self) -> float:
        return self.skip / SAMPLE_RATE

    @property
    def seconds(self) -> float:
        """The audio the model is given."""
        return sum(f.duration_s for f in self.chunk.frames) - self.skip_s

    def audio(self) -> np.ndarray:
        """The lead and the window: decode from sample `lead_samples` on."""
        return samples(self.lead + self.chunk.pcm())

    @property
    def lead_samples(self) -> int:
        return len(self.lead) // BYTES_PER_SAMPLE + self.skip


@dataclass
class SettleBuffer(HeldFrames):
    window_s: float = 35.0
    frames: list[BufferedFrame] = field(default_factory=list)
    seconds: float = 0.0
    ended: bool = False  # no more frames are coming (session end, or a stalled source)
    skip: int = 0  # samples at the start of the first frame that are settled already
    lead: ContextTail = field(default_factory=lambda: ContextTail(max_s=LEAD_S))

    def push(self, frame: BufferedFrame) -> None:
        self.frames.append(frame)
        self.seconds += frame.duration_s
        self.ended = False

    def due(self) -> bool:
        unsettled = self.seconds - self.skip / SAMPLE_RATE
        return bool(self.frames) and (self.ended or unsettled + EPS_S >= self.window_s)

    def window(self, change_ns: int | None = None, *, force: bool = False) -> Window | None:
        """The next window to decode: the first window_s of the buffer, or less at the stream's
        end. Which frames it holds never depends on how far the stream had come when it was
        decoded, so a re-read after a crash settles the same windows. A change of the meeting's
        settings at change_ns (capture time) ends the window before the first frame it applies
        to, so each window is decoded with one language and task (`force`: now, though not due:
        a change has come, or live_policy=agree decodes the window as it grows)."""
        if not (self.due() or force):
            return None
        total, n = -self.skip / SAMPLE_RATE, 0
        while n < len(self.frames) and total + EPS_S < self.window_s:
            if n > 0 and change_ns is not None and self.frames[n].capture_time_ns >= change_ns:
                return Window(Chunk(tuple(self.frames[:n])), final=True, skip=self.skip,
                              lead=self.lead.pcm())
            total += self.frames[n].duration_s
            n += 1
        return Window(Chunk(tuple(self.frames[:n])), final=self.ended and n == len(self.frames),
                      skip=self.skip, lead=self.lead.pcm())

    def consume(self, seconds: float) -> None:
        """Settle the first `seconds` of the buffer's audio: the frames wholly within them go,
        and the next window starts at the sample where they end."""
        start = self.skip / SAMPLE_RATE + seconds  # from the first frame's start
        total, n = 0.0, 0
        while n < len(self.frames) and total + self.frames[n].duration_s <= start + EPS_S:
            total += self.frames[n].duration_s
            n += 1
        self.lead.extend(self.frames[:n])
        self.frames = self.frames[n:]
        self.seconds = sum(f.duration_s for f in self.frames)
        if not self.frames:  # all settled (the stream's end, or a stalled source): no lead held
            self.skip = 0
            self.lead.clear()
            return
        first = len(self.frames[0].payload) // BYTES_PER_SAMPLE
        self.skip = min(first - 1, max(0, round((start - total) * SAMPLE_RATE)))


def settled_part(
    segments: tuple[ModelSegment, ...], window: Window,
) -> tuple[tuple[ModelSegment, ...], float]:
    """The segments a window settles, and how many of its seconds are settled with them.

    A final window keeps everything. Otherwise, when the model went on to a second 30 s window
    (its first stopped at an unfinished segment), only the first window's segments are kept and
    settling resumes where the model began its second window, as offline decoding does.
    """
    if window.final or not segments:
        return segments, window.seconds
    first = tuple(s for s in segments if s.window == segments[0].window)
    if len(first) < len(segments):  # where the model began its second window, to the sample
        resume = segments[len(first)].window_start
    else:
        # the VAD fit the window into one model window, whose edge is no pause: its last
        # segment is decoded again with what follows, unless it is the only one
        if len(first) == 1:
            return segments, window.seconds
        first = first[:-1]
        resume = max([w.end for s in first for w in s.words] or [s.end for s in first])
    return first, min(window.seconds, max(MIN_ADVANCE_S, resume))


SWITCH_PROBABILITY = 0.8  # the model must be this sure before the language changes


def language_split(detections: list[tuple[str, float]]) -> int | None:
    """Index of the first part of a window spoken in another language than its first part.

    Hysteresis: the language switches only at a part the model is sure of, when the part after
    it (if any) is not as sure of another language, so a word or a name in another language
    never flips the transcript's. The switch starts at the earliest part before that one
    already heard in the new language (however unsure).
    """
    if not detections:
        return None
    first = detections[0][0]
    for i in range(1, len(detections)):
        language, probability = detections[i]
        after = detections[i + 1] if i + 1 < len(detections) else None
        contradicted = after is not None and after[0] != language and after[1] >= SWITCH_PROBABILITY
        if language != first and probability >= SWITCH_PROBABILITY and not contradicted:
            start = i
            while start > 1 and detections[start - 1][0] == language:
                start -= 1
            return start
    return None
