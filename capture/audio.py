"""Pure audio framing: PCM in, sequenced AudioFrames out. No I/O here."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from stenograph.schemas import BYTES_PER_SAMPLE, SAMPLE_RATE, AudioFrame


@dataclass(frozen=True, kw_only=True)
class SessionInfo:
    tenant_id: str
    meeting_id: str
    session_id: str
    started_at_ns: int
    source: str = "file"


def frame_bytes(frame_ms: int, sample_rate: int = SAMPLE_RATE) -> int:
    if not 10 <= frame_ms <= 500:
        raise ValueError(f"frame duration {frame_ms} ms outside 10..500 ms")
    return sample_rate * frame_ms // 1000 * BYTES_PER_SAMPLE


def make_frame(
    session: SessionInfo, seq: int, payload: bytes, *, last: bool = False,
    sample_rate: int = SAMPLE_RATE,
) -> AudioFrame:
    """One frame; its capture time follows from the seq and fixed frame size of the session."""
    offset_ns = seq * len(payload) * 1_000_000_000 // (BYTES_PER_SAMPLE * sample_rate)
    return AudioFrame(
        tenant_id=session.tenant_id,
        meeting_id=session.meeting_id,
        event_id=f"{session.session_id}:{seq}",
        session_id=session.session_id,
        seq=seq,
        capture_time_ns=session.started_at_ns + offset_ns,
        session_started_at_ns=session.started_at_ns,
        sample_rate=sample_rate,
        channels=1,
        payload=payload,
        crc32=zlib.crc32(payload),
        last=last,
        source=session.source,
    )


def split_frames(
    pcm: bytes, session: SessionInfo, frame_ms: int = 100, sample_rate: int = SAMPLE_RATE
) -> Iterator[AudioFrame]:
    """Cut PCM16 mono into fixed-duration frames, zero-padding the tail; the final one is `last`."""
    size = frame_bytes(frame_ms, sample_rate)
    count = max(1, -(-len(pcm) // size))
    for seq in range(count):
        chunk = pcm[seq * size : (seq + 1) * size]
        if len(chunk) < size:
            chunk = chunk + bytes(size - len(chunk))
        yield make_frame(session, seq, chunk, last=seq == count - 1, sample_rate=sample_rate)


class Reframer:
    """Arbitrary-sized PCM16 pieces in, fixed-size sequenced frames out (live sources)."""

    def __init__(self, session: SessionInfo, frame_ms: int = 100, sample_rate: int = SAMPLE_RATE):
        self.session = session
        self.sample_rate = sample_rate
        self.size = frame_bytes(frame_ms, sample_rate)
        self.next_seq = 0
        self._pending = bytearray()

    @property
    def buffered_bytes(self) -> int:
        return len(self._pending)

    def push(self, pcm: bytes) -> list[AudioFrame]:
        self._pending += pcm
        out: list[AudioFrame] = []
        while len(self._pending) >= self.size:
            out.append(self._frame(bytes(self._pending[: self.size])))
            del self._pending[: self.size]
        return out

    def finish(self) -> AudioFrame:
        """The `last` frame: what is buffered, zero-padded to a whole frame."""
        tail = bytes(self._pending) + bytes(self.size - len(self._pending))
        self._pending.clear()
        return self._frame(tail, last=True)

    def _frame(self, payload: bytes, *, last: bool = False) -> AudioFrame:
        frame = make_frame(self.session, self.next_seq, payload, last=last,
                           sample_rate=self.sample_rate)
        self.next_seq += 1
        return frame
