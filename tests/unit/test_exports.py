"""Transcript exports (txt, srt, vtt) and audio export (WAV), pure."""

from __future__ import annotations

import io
import wave
import zlib
from datetime import UTC, datetime

from stenograph.api.exports import to_srt, to_txt, to_vtt, to_wav
from stenograph.api.models import Segment, Transcript
from stenograph.schemas.events import AudioFrame

T0 = datetime(2026, 11, 25, tzinfo=UTC)


def seg(start: float, end: float, text: str, speaker: str | None) -> Segment:
    return Segment(segment_id=f"s{start}", start=start, end=end, text=text, language="en",
                   speaker=speaker, completed=True, absolute_start_time=T0, absolute_end_time=T0)


TRANSCRIPT = Transcript(id="m", platform="zoom", native_meeting_id="1", status="completed", segments=[
    seg(0.0, 4.5, "And so, my fellow Americans", "Ann"),
    seg(3725.25, 3727.0, "ask not.", None),
])


def test_txt_has_times_and_speakers() -> None:
    assert to_txt(TRANSCRIPT) == "[00:00:00] Ann: And so, my fellow Americans\n[01:02:05] ask not.\n"


def test_srt_numbers_cues_with_comma_milliseconds() -> None:
    assert to_srt(TRANSCRIPT) == (
        "1\n00:00:00,000 --> 00:00:04,500\nAnn: And so, my fellow Americans\n\n"
        "2\n01:02:05,250 --> 01:02:07,000\nask not.\n")


def test_vtt_uses_voice_tags() -> None:
    assert to_vtt(TRANSCRIPT) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:04.500\n<v Ann>And so, my fellow Americans\n\n"
        "01:02:05.250 --> 01:02:07.000\nask not.\n")


def frame(seq: int, payload: bytes, session: str = "s") -> AudioFrame:
    return AudioFrame(tenant_id="t", meeting_id="m", session_id=session, seq=seq, capture_time_ns=0,
                      session_started_at_ns=0, sample_rate=16_000, channels=1, payload=payload,
                      crc32=zlib.crc32(payload))


def test_wav_orders_frames_fills_gaps_and_drops_duplicates() -> None:
    a, b, c = b"\x01\x00" * 4, b"\x02\x00" * 4, b"\x03\x00" * 4
    data = to_wav([[frame(2, c), frame(0, a), frame(0, a)], [frame(0, b, "s2")]])
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16_000)
        assert w.readframes(w.getnframes()) == a + bytes(8) + c + b


def test_wav_of_nothing_is_an_empty_wav() -> None:
    with wave.open(io.BytesIO(to_wav([]))) as w:
        assert w.getnframes() == 0
