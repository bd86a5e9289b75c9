"""Pure chunking policy: where to cut a session's audio into pieces for the model.

Cuts depend only on the frames themselves (never on wall-clock time or batch sizes),
so re-reading the same frames after a crash yields the same chunks and segment ids.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from stenograph.schemas import samples

# Frame durations are summed as floats (ten 0.1 s frames make 0.9999999999999999 s);
# thresholds are compared with this tolerance so a cut lands on the intended frame.
EPS_S = 1e-6


@dataclass(frozen=True)
class ChunkPolicy:
    min_s: float = 5.0  # never cut before this much audio
    max_s: float = 15.0  # always cut by this much audio
    quiet_s: float = 0.3  # a pause this long after min_s ends a chunk
    speech_threshold: float = 0.5  # VAD speech probability below which a frame counts as a pause
    # a chunk whose every frame is below this is not sent to the model (lower than the cut
    # threshold: a chunk is dropped only when the VAD is sure nobody spoke)
    decode_threshold: float = 0.3

    def worth_decoding(self, chunk: Chunk) -> bool:
        """Digital zeros, silence, hum and noise never reach the model."""
        return not chunk.all_silent and chunk.peak_speech >= self.decode_threshold


@dataclass(frozen=True)
class BufferedFrame:
    seq: int
    offset: int  # Kafka offset, for the commit watermark
    capture_time_ns: int
    payload: bytes
    duration_s: float
    speech: float  # VAD speech probability, 0..1
    zero: bool


@dataclass(frozen=True)
class Chunk:
    frames: tuple[BufferedFrame, ...]

    @property
    def seq_first(self) -> int:
        return self.frames[0].seq

    @property
    def seq_last(self) -> int:
        return self.frames[-1].seq

    @property
    def capture_time_ns(self) -> int:
        return self.frames[0].capture_time_ns

    @property
    def seconds(self) -> float:
        return sum(f.duration_s for f in self.frames)

    @property
    def all_silent(self) -> bool:
        """Nothing but digital zeros: never worth a model call."""
        return all(f.zero for f in self.frames)

    @property
    def peak_speech(self) -> float:
        return max((f.speech for f in self.frames), default=0.0)

    def pcm(self) -> bytes:
        return b"".join(f.payload for f in self.frames)

    def audio(self) -> np.ndarray:
        """The chunk as the model takes it."""
        return samples(self.pcm())


class HeldFrames:
    """A buffer of frames still needed: the commit watermark stays at its first."""

    frames: Sequence[BufferedFrame]

    @property
    def first_offset(self) -> int | None:
        return self.frames[0].offset if self.frames else None

    @property
    def first_seq(self) -> int | None:
        return self.frames[0].seq if self.frames else None


@dataclass
class ChunkBuffer(HeldFrames):
    policy: ChunkPolicy = field(default_factory=ChunkPolicy)
    frames: list[BufferedFrame] = field(default_factory=list)
    seconds: float = 0.0
    quiet_tail_s: float = 0.0

    def push(self, frame: BufferedFrame) -> Chunk | None:
        """Add a frame; returns a chunk when the policy says to cut."""
        self.frames.append(frame)
        self.seconds += frame.duration_s
        pause = frame.speech < self.policy.speech_threshold
        self.quiet_tail_s = self.quiet_tail_s + frame.duration_s if pause else 0.0
        if self.seconds + EPS_S >= self.policy.min_s and self.quiet_tail_s + EPS_S >= self.policy.quiet_s:
            return self.cut(len(self.frames))
        if self.seconds + EPS_S >= self.policy.max_s:
            return self.cut(self._quietest_cut())
        return None

    def flush(self) -> Chunk | None:
        return self.cut(len(self.frames)) if self.frames else None

    def cut(self, n: int) -> Chunk:
        chunk = Chunk(tuple(self.frames[:n]))
        self.frames = self.frames[n:]
        self.seconds = sum(f.duration_s for f in self.frames)
        self.quiet_tail_s = 0.0
        for f in reversed(self.frames):
            if f.speech >= self.policy.speech_threshold:
                break
            self.quiet_tail_s += f.duration_s
        return chunk

    def _quietest_cut(self) -> int:
        """Cut after the least speech-like frame of the buffer's second half (mid-word cuts hurt
        most)."""
        half = len(self.frames) // 2
        tail = self.frames[half:]
        best = min(range(len(tail)), key=lambda i: (tail[i].speech, -i))
        return half + best + 1


@dataclass
class ContextTail(HeldFrames):
    """The audio just before the open chunk: decoded with it as left context, never re-emitted.

    Whisper encodes a 30 s window whatever the chunk's length, so the words before a cut cost
    little and give the model the sentence the chunk starts in.
    """

    max_s: float = 5.0
    frames: deque[BufferedFrame] = field(default_factory=deque)
    seconds: float = 0.0

    def extend(self, frames: tuple[BufferedFrame, ...] | list[BufferedFrame]) -> None:
        for f in frames:
            self.frames.append(f)
            self.seconds += f.duration_s
        while self.frames and self.seconds - self.frames[0].duration_s + EPS_S >= self.max_s:
            self.seconds -= self.frames.popleft().duration_s
        if not self.frames:
            self.seconds = 0.0

    def clear(self) -> None:
        self.frames.clear()
        self.seconds = 0.0

    def pcm(self) -> bytes:
        return b"".join(f.payload for f in self.frames)
