"""Transcript and audio exports. Pure: models and frames in, bytes out."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable

from stenograph.api.models import Segment, Transcript
from stenograph.schemas import SAMPLE_RATE, AudioFrame

MEDIA_TYPES = {"txt": "text/plain; charset=utf-8", "srt": "application/x-subrip; charset=utf-8",
               "vtt": "text/vtt; charset=utf-8"}


def _clock(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _said(segment: Segment) -> str:
    return f"{segment.speaker}: {segment.text}" if segment.speaker else segment.text


def to_txt(transcript: Transcript) -> str:
    lines = [f"[{_clock(s.start, '.')[:8]}] {_said(s)}" for s in transcript.segments]
    return "\n".join(lines) + ("\n" if lines else "")


def to_srt(transcript: Transcript) -> str:
    blocks = [f"{i}\n{_clock(s.start, ',')} --> {_clock(max(s.end, s.start), ',')}\n{_said(s)}\n"
              for i, s in enumerate(transcript.segments, start=1)]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    cues = []
    for s in transcript.segments:
        text = f"<v {s.speaker}>{s.text}" if s.speaker else s.text
        cues.append(f"{_clock(s.start, '.')} --> {_clock(max(s.end, s.start), '.')}\n{text}\n")
    return "WEBVTT\n\n" + "\n".join(cues)


RENDER = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt}


def to_wav(sessions: Iterable[Iterable[AudioFrame]]) -> bytes:
    """Capture sessions one after another as 16-bit mono WAV, each in seq order; a missing
    frame becomes silence of the same length, a duplicate is dropped."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        rate = None
        for frames in sessions:
            ordered = sorted(frames, key=lambda f: f.seq)
            if not ordered:
                continue
            if rate is None:
                rate = ordered[0].sample_rate
                out.setframerate(rate)
            expected = ordered[0].seq
            for frame in ordered:
                if frame.seq < expected:
                    continue
                out.writeframes(bytes(len(frame.payload)) * (frame.seq - expected))
                out.writeframes(frame.payload)
                expected = frame.seq + 1
        if rate is None:
            out.setframerate(SAMPLE_RATE)
    return buf.getvalue()
