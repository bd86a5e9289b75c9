"""transcribe/policy.py: deterministic chunk cutting."""

from __future__ import annotations

import itertools
import random
import struct

import pytest

from stenograph.schemas.pcm import frame_rms
from stenograph.transcribe.policy import BufferedFrame, Chunk, ChunkBuffer, ChunkPolicy

# 250 ms frames: a binary fraction, so summed durations are exact and boundaries are easy to state.
FRAME_S = 0.25
POLICY = ChunkPolicy(min_s=2.0, max_s=4.0, quiet_s=0.5, speech_threshold=0.01)  # 8 / 16 / 2 frames
LOUD = 0.9
QUIET = 0.001


def bf(seq: int, speech: float = LOUD, *, zero: bool = False, duration_s: float = FRAME_S) -> BufferedFrame:
    return BufferedFrame(
        seq=seq, offset=1000 + seq, capture_time_ns=seq * int(duration_s * 1e9),
        payload=bytes([seq % 256]) * 4, duration_s=duration_s, speech=0.0 if zero else speech, zero=zero,
    )


def push_all(buf: ChunkBuffer, frames: list[BufferedFrame]) -> list[tuple[int, Chunk]]:
    """(index of the frame whose push produced it, chunk) for every cut."""
    out = []
    for i, f in enumerate(frames):
        if (chunk := buf.push(f)) is not None:
            out.append((i, chunk))
    return out


def seqs(chunk: Chunk) -> list[int]:
    return [f.seq for f in chunk.frames]


# frame_rms


def pcm(*samples: int) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def test_frame_rms_values() -> None:
    assert frame_rms(b"") == 0.0
    assert frame_rms(bytes(320)) == 0.0
    assert frame_rms(pcm(*([-32768] * 100))) == pytest.approx(1.0)
    assert frame_rms(pcm(*([16384] * 100))) == pytest.approx(0.5)
    assert frame_rms(pcm(*([16384, -16384] * 50))) == pytest.approx(0.5)
    assert frame_rms(pcm(3, 4)) == pytest.approx(((9 + 16) / 2) ** 0.5 / 32768)


def test_frame_rms_is_little_endian() -> None:
    assert frame_rms(b"\x00\x40") == pytest.approx(0.5)  # 0x4000 = 16384
    assert frame_rms(b"\x40\x00") == pytest.approx(64 / 32768)


# Chunk


def test_chunk_properties() -> None:
    chunk = Chunk((bf(3), bf(4), bf(5)))
    assert (chunk.seq_first, chunk.seq_last) == (3, 5)
    assert chunk.capture_time_ns == 3 * 250_000_000
    assert chunk.pcm() == b"\x03" * 4 + b"\x04" * 4 + b"\x05" * 4


def test_chunk_all_silent() -> None:
    assert Chunk((bf(0, zero=True), bf(1, zero=True))).all_silent is True
    assert Chunk((bf(0, zero=True), bf(1, QUIET))).all_silent is False  # quiet is not digital zero
    assert Chunk((bf(0), bf(1, zero=True))).all_silent is False


# cutting


def test_no_cut_before_min_even_when_quiet() -> None:
    buf = ChunkBuffer(POLICY)
    frames = [bf(i, QUIET) for i in range(12)]
    cuts = push_all(buf, frames)
    # quiet tail >= 0.5 s from the 2nd frame, but nothing is cut until 2.0 s of audio (8 frames)
    assert cuts[0][0] == 7
    assert seqs(cuts[0][1]) == list(range(8))


def test_loud_audio_not_cut_before_max() -> None:
    buf = ChunkBuffer(POLICY)
    for i in range(15):
        assert buf.push(bf(i)) is None
    assert buf.seconds == 15 * FRAME_S
    assert buf.first_seq == 0
    assert buf.first_offset == 1000


def test_cut_on_quiet_tail_after_min() -> None:
    buf = ChunkBuffer(POLICY)
    frames = [bf(i) for i in range(10)] + [bf(10, QUIET), bf(11, QUIET), bf(12)]
    cuts = push_all(buf, frames)
    assert [i for i, _ in cuts] == [11]
    assert seqs(cuts[0][1]) == list(range(12))  # the quiet frames stay with the chunk they end
    assert seqs(Chunk(tuple(buf.frames))) == [12]
    assert buf.seconds == FRAME_S


def test_short_pause_after_min_does_not_cut() -> None:
    buf = ChunkBuffer(POLICY)
    frames = [bf(i, QUIET if i % 2 else LOUD) for i in range(15)]  # never two quiet in a row
    assert push_all(buf, frames) == []


def test_quiet_threshold_is_strict() -> None:
    buf = ChunkBuffer(POLICY)
    frames = [bf(i) for i in range(10)] + [bf(10, POLICY.speech_threshold), bf(11, POLICY.speech_threshold)]
    assert push_all(buf, frames) == []  # speech == speech_threshold is not a pause


def test_forced_cut_at_quietest_frame_of_second_half() -> None:
    buf = ChunkBuffer(POLICY)
    rms = [0.3] * 16
    rms[3] = 0.02  # quietest overall, but in the first half: ignored
    rms[11] = 0.05  # quietest of frames 8..15
    rms[13] = 0.08
    frames = [bf(i, r) for i, r in enumerate(rms)]
    cuts = push_all(buf, frames)
    assert [i for i, _ in cuts] == [15]  # cut exactly when 4.0 s is reached
    assert seqs(cuts[0][1]) == list(range(12))  # cut after the quietest frame
    assert [f.seq for f in buf.frames] == [12, 13, 14, 15]  # the rest is carried over
    assert buf.seconds == 4 * FRAME_S
    assert buf.first_seq == 12
    assert buf.first_offset == 1012


def test_forced_cut_prefers_the_latest_of_equally_quiet_frames() -> None:
    buf = ChunkBuffer(POLICY)
    rms = [0.3] * 16
    rms[9] = rms[12] = 0.05
    (_, chunk), = push_all(buf, [bf(i, r) for i, r in enumerate(rms)])
    assert chunk.seq_last == 12


def test_forced_cut_can_take_the_whole_buffer() -> None:
    buf = ChunkBuffer(POLICY)
    rms = [0.3] * 15 + [0.05]
    (_, chunk), = push_all(buf, [bf(i, r) for i, r in enumerate(rms)])
    assert seqs(chunk) == list(range(16))
    assert buf.frames == []
    assert buf.seconds == 0.0
    assert buf.first_seq is None
    assert buf.first_offset is None


def test_carried_over_quiet_tail_is_recomputed() -> None:
    buf = ChunkBuffer(POLICY)
    rms = [0.3] * 16
    rms[10] = 0.0005  # quietest of the second half -> carry over 11..15
    rms[15] = 0.005  # quiet, but not the quietest
    cuts = push_all(buf, [bf(i, r) for i, r in enumerate(rms)])
    assert seqs(cuts[0][1]) == list(range(11))
    assert [f.seq for f in buf.frames] == [11, 12, 13, 14, 15]
    assert buf.quiet_tail_s == FRAME_S  # frame 15 is quiet, 14 is not


def test_carry_over_counts_toward_the_next_chunk() -> None:
    buf = ChunkBuffer(POLICY)
    rms = [0.3] * 16
    rms[11] = 0.05
    push_all(buf, [bf(i, r) for i, r in enumerate(rms)])  # carries 12..15 (1.0 s)
    later = [bf(i) for i in range(16, 20)] + [bf(20, QUIET), bf(21, QUIET)]
    cuts = push_all(buf, later)
    # 12..19 is 2.0 s; the quiet pair ends the chunk at 21
    assert len(cuts) == 1
    assert seqs(cuts[0][1]) == list(range(12, 22))


def test_flush() -> None:
    buf = ChunkBuffer(POLICY)
    assert buf.flush() is None
    for i in range(5):
        buf.push(bf(i))
    chunk = buf.flush()
    assert chunk is not None
    assert seqs(chunk) == [0, 1, 2, 3, 4]
    assert buf.frames == []
    assert buf.seconds == 0.0
    assert buf.quiet_tail_s == 0.0
    assert buf.flush() is None


def test_default_policy_boundaries() -> None:
    buf = ChunkBuffer()  # 5 s min, 15 s max, 0.3 s quiet
    frames = [bf(i, duration_s=0.125) for i in range(130)]
    cuts = push_all(buf, frames)
    assert [i for i, _ in cuts] == [119]  # 120 frames * 125 ms = 15.0 s
    quiet = [bf(i, duration_s=0.125) for i in range(40)]
    quiet += [bf(40 + i, QUIET, duration_s=0.125) for i in range(3)]
    cuts = push_all(ChunkBuffer(), quiet)
    assert [i for i, _ in cuts] == [42]  # 5.0 s of audio, then 0.375 s >= 0.3 s of quiet


# determinism


def random_frames(n: int, seed: int) -> list[BufferedFrame]:
    rng = random.Random(seed)
    frames = []
    for i in range(n):
        r = rng.random()
        if r < 0.1:
            frames.append(bf(i, zero=True))
        elif r < 0.35:
            frames.append(bf(i, rng.uniform(0.0, 0.0099)))
        else:
            frames.append(bf(i, rng.uniform(0.01, 0.5)))
    return frames


def boundaries(frames: list[BufferedFrame]) -> list[tuple[int, int]]:
    buf = ChunkBuffer(POLICY)
    chunks = [c for _, c in push_all(buf, frames)]
    if (last := buf.flush()) is not None:
        chunks.append(last)
    return [(c.seq_first, c.seq_last) for c in chunks]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_frames_give_same_boundaries(seed: int) -> None:
    frames = random_frames(600, seed)
    first = boundaries(frames)
    assert first == boundaries(list(frames))
    assert len(first) > 10
    # chunks tile the input without gaps or overlaps, and each respects max_s
    assert first[0][0] == 0
    assert first[-1][1] == 599
    for (_, a_last), (b_first, _) in itertools.pairwise(first):
        assert b_first == a_last + 1
    assert all((last - first_ + 1) * FRAME_S <= POLICY.max_s for first_, last in first)


@pytest.mark.parametrize("seed", [4, 5])
def test_resuming_at_a_chunk_start_repeats_later_boundaries(seed: int) -> None:
    """After a crash the buffer restarts empty at the first unfinished chunk's first frame."""
    frames = random_frames(400, seed)
    full = boundaries(frames)
    for k in range(1, len(full)):
        start = full[k][0]
        assert boundaries(frames[start:]) == full[k:], f"resume at seq {start}"


def test_100ms_frames_cut_exactly_at_min_and_max() -> None:
    """Float sums of 0.1 s frames fall just short of 5.0 and 15.0; the cut must not slip a frame."""
    quiet = ChunkBuffer(ChunkPolicy())  # defaults: 5 s min, 0.3 s pause, 15 s max
    got = push_all(quiet, [bf(i, QUIET, duration_s=0.1) for i in range(60)])
    assert got[0][0] == 49  # the 50th frame completes 5.0 s
    loud = ChunkBuffer(ChunkPolicy())
    got = push_all(loud, [bf(i, LOUD, duration_s=0.1) for i in range(200)])
    assert got[0][0] == 149  # the 150th frame completes 15.0 s


# what reaches the model


def test_worth_decoding_needs_one_frame_of_likely_speech() -> None:
    policy = ChunkPolicy(decode_threshold=0.3)
    assert policy.worth_decoding(Chunk((bf(0, 0.1), bf(1, 0.29)))) is False  # hum, noise, silence
    assert policy.worth_decoding(Chunk((bf(0, 0.1), bf(1, 0.3)))) is True
    assert policy.worth_decoding(Chunk((bf(0, zero=True), bf(1, zero=True)))) is False
    assert Chunk((bf(0, 0.2), bf(1, 0.7))).peak_speech == 0.7
