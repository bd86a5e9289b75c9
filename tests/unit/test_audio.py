"""capture/audio.py: fixed-size framing of PCM16 mono into sequenced AudioFrames."""

from __future__ import annotations

import random
import zlib

import pytest

from stenograph.capture.audio import (
    BYTES_PER_SAMPLE,
    SAMPLE_RATE,
    SessionInfo,
    frame_bytes,
    make_frame,
    split_frames,
)

START_NS = 1_700_000_000_000_000_000
SESSION = SessionInfo(
    tenant_id="t1", meeting_id="m1", session_id="s1", started_at_ns=START_NS, source="browser"
)


def pcm_ramp(n_bytes: int) -> bytes:
    """Deterministic non-zero PCM, so padding and slicing mistakes show up in the payloads."""
    return random.Random(n_bytes).randbytes(n_bytes).replace(b"\x00", b"\x01")


@pytest.mark.parametrize(
    ("frame_ms", "sample_rate", "expected"),
    [(10, 16_000, 320), (20, 16_000, 640), (100, 16_000, 3200), (500, 16_000, 16_000), (100, 8_000, 1600)],
)
def test_frame_bytes_is_samples_times_two(frame_ms: int, sample_rate: int, expected: int) -> None:
    assert frame_bytes(frame_ms, sample_rate) == expected


@pytest.mark.parametrize("frame_ms", [-1, 0, 9, 501, 1000])
def test_frame_bytes_rejects_out_of_range(frame_ms: int) -> None:
    with pytest.raises(ValueError, match=r"10\.\.500"):
        frame_bytes(frame_ms)


def test_split_frames_rejects_out_of_range_duration() -> None:
    with pytest.raises(ValueError):
        list(split_frames(b"\x01" * 100, SESSION, frame_ms=5))


def test_split_exact_multiple() -> None:
    size = frame_bytes(100)
    pcm = pcm_ramp(size * 4)
    frames = list(split_frames(pcm, SESSION, frame_ms=100))
    assert len(frames) == 4
    assert all(len(f.payload) == size for f in frames)
    assert b"".join(f.payload for f in frames) == pcm


def test_tail_is_zero_padded_to_full_frame() -> None:
    size = frame_bytes(20)
    pcm = pcm_ramp(size * 2 + 100)
    frames = list(split_frames(pcm, SESSION, frame_ms=20))
    assert len(frames) == 3
    assert [len(f.payload) for f in frames] == [size, size, size]
    assert frames[2].payload[:100] == pcm[2 * size :]
    assert frames[2].payload[100:] == bytes(size - 100)
    assert b"".join(f.payload for f in frames)[: len(pcm)] == pcm


def test_seq_monotonic_from_zero_without_gaps_and_last_only_on_final() -> None:
    frames = list(split_frames(pcm_ramp(frame_bytes(50) * 7 + 3), SESSION, frame_ms=50))
    assert [f.seq for f in frames] == list(range(8))
    assert [f.last for f in frames] == [False] * 7 + [True]
    assert [f.event_id for f in frames] == [f"s1:{i}" for i in range(8)]


def test_single_frame_input_is_last() -> None:
    frames = list(split_frames(pcm_ramp(10), SESSION, frame_ms=100))
    assert len(frames) == 1
    assert frames[0].seq == 0
    assert frames[0].last is True


def test_empty_input_gives_one_silent_last_frame() -> None:
    frames = list(split_frames(b"", SESSION, frame_ms=100))
    assert len(frames) == 1
    assert frames[0].last is True
    assert frames[0].payload == bytes(frame_bytes(100))


@pytest.mark.parametrize("frame_ms", [10, 20, 100, 250])
def test_capture_time_is_start_plus_seq_times_frame_duration(frame_ms: int) -> None:
    frames = list(split_frames(pcm_ramp(frame_bytes(frame_ms) * 12), SESSION, frame_ms=frame_ms))
    assert len(frames) == 12
    for f in frames:
        assert f.capture_time_ns == START_NS + f.seq * frame_ms * 1_000_000
        assert f.session_started_at_ns == START_NS
        assert f.duration_s == pytest.approx(frame_ms / 1000)


def test_crc32_matches_payload() -> None:
    frames = list(split_frames(pcm_ramp(frame_bytes(20) * 3 + 11), SESSION, frame_ms=20))
    for f in frames:
        assert f.crc32 == zlib.crc32(f.payload)
    assert len({f.crc32 for f in frames}) == len(frames)


def test_frame_metadata_copied_from_session() -> None:
    (f,) = split_frames(pcm_ramp(frame_bytes(100)), SESSION, frame_ms=100)
    assert (f.tenant_id, f.meeting_id, f.session_id, f.source) == ("t1", "m1", "s1", "browser")
    assert (f.sample_rate, f.channels, f.encoding) == (SAMPLE_RATE, 1, "pcm_s16le")


def test_other_sample_rate() -> None:
    frames = list(split_frames(pcm_ramp(1600 * 3), SESSION, frame_ms=100, sample_rate=8_000))
    assert len(frames) == 3
    assert all(f.sample_rate == 8_000 for f in frames)
    assert [f.capture_time_ns - START_NS for f in frames] == [0, 100_000_000, 200_000_000]


def test_make_frame_direct() -> None:
    payload = b"\x00\x01" * 160  # 10 ms at 16 kHz
    f = make_frame(SESSION, 5, payload, last=True)
    assert f.seq == 5
    assert f.last is True
    assert f.payload == payload
    assert f.crc32 == zlib.crc32(payload)
    assert f.capture_time_ns == START_NS + 5 * 10_000_000
    assert len(payload) == SAMPLE_RATE // 100 * BYTES_PER_SAMPLE
