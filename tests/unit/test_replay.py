"""transcribe/replay.py: reassembling a session's audio, sentence segments, progress ETA."""

from __future__ import annotations

import random
import zlib

import pytest

from stenograph.schemas.events import AudioFrame
from stenograph.transcribe.model import ModelSegment, ModelWord
from stenograph.transcribe.replay import SENTENCE_END, assemble, eta_s, split_sentences

START_NS = 1_700_000_000_000_000_000
FRAME_BYTES = 3200  # 100 ms of 16 kHz PCM16 mono
FRAME_NS = 100_000_000


def payload(seq: int) -> bytes:
    """Distinct non-zero PCM per seq, so order and silence-filling mistakes show up."""
    return random.Random(seq).randbytes(FRAME_BYTES).replace(b"\x00", b"\x01")


def frame(seq: int, *, data: bytes | None = None, crc: int | None = None) -> AudioFrame:
    data = payload(seq) if data is None else data
    return AudioFrame(
        tenant_id="t", meeting_id="m", session_id="s1", seq=seq,
        capture_time_ns=START_NS + 500_000_000 + seq * FRAME_NS, session_started_at_ns=START_NS,
        sample_rate=16_000, channels=1, payload=data, crc32=zlib.crc32(data) if crc is None else crc,
    )


# assemble


def test_assemble_empty_input_is_none() -> None:
    assert assemble([]) is None
    assert assemble(iter(())) is None


def test_assemble_only_corrupt_frames_is_none() -> None:
    assert assemble([frame(0, crc=1), frame(1, crc=2)]) is None


def test_assemble_in_order() -> None:
    audio = assemble(frame(i) for i in range(5))
    assert audio is not None
    assert audio.pcm == b"".join(payload(i) for i in range(5))
    assert (audio.seq_first, audio.seq_last, audio.missing) == (0, 4, 0)
    assert audio.session_id == "s1"
    assert audio.sample_rate == 16_000
    assert audio.session_started_at_ns == START_NS
    assert audio.capture_time_ns == START_NS + 500_000_000
    assert audio.seconds == pytest.approx(0.5)


def test_assemble_any_order_and_duplicates_give_the_same_audio() -> None:
    frames = [frame(i) for i in range(3, 10)]
    shuffled = [*frames, frames[2], frames[0], frames[-1]]
    random.Random(7).shuffle(shuffled)
    expected = assemble(frames)
    got = assemble(shuffled)
    assert got == expected
    assert got is not None
    assert got.pcm == b"".join(payload(i) for i in range(3, 10))
    assert (got.seq_first, got.seq_last, got.missing) == (3, 9, 0)
    assert got.capture_time_ns == START_NS + 500_000_000 + 3 * FRAME_NS
    assert got.seconds == pytest.approx(0.7)


def test_assemble_fills_a_missing_seq_with_silence() -> None:
    audio = assemble([frame(4), frame(0), frame(1), frame(3)])
    assert audio is not None
    assert audio.missing == 1
    assert audio.pcm == payload(0) + payload(1) + bytes(FRAME_BYTES) + payload(3) + payload(4)
    assert (audio.seq_first, audio.seq_last) == (0, 4)
    assert audio.seconds == pytest.approx(0.5)


def test_assemble_fills_a_longer_gap() -> None:
    audio = assemble([frame(10), frame(14)])
    assert audio is not None
    assert audio.missing == 3
    assert audio.pcm == payload(10) + bytes(3 * FRAME_BYTES) + payload(14)


def test_assemble_treats_a_crc_mismatch_as_missing() -> None:
    bad = frame(2, crc=zlib.crc32(payload(2)) ^ 1)
    audio = assemble([frame(0), frame(1), bad, frame(3)])
    assert audio is not None
    assert audio.missing == 1
    assert audio.pcm == payload(0) + payload(1) + bytes(FRAME_BYTES) + payload(3)


def test_assemble_corrupt_payload_with_the_original_crc_is_missing() -> None:
    good = frame(1)
    flipped = bytes([good.payload[0] ^ 0xFF]) + good.payload[1:]
    corrupt = frame(1, data=flipped, crc=good.crc32)
    audio = assemble([frame(0), corrupt, frame(2)])
    assert audio is not None
    assert audio.missing == 1
    assert audio.pcm[FRAME_BYTES : 2 * FRAME_BYTES] == bytes(FRAME_BYTES)


@pytest.mark.parametrize("corrupt_first", [True, False])
def test_assemble_a_good_duplicate_replaces_a_corrupt_copy(corrupt_first: bool) -> None:
    corrupt = frame(1, crc=0)
    pair = [corrupt, frame(1)] if corrupt_first else [frame(1), corrupt]
    audio = assemble([frame(0), *pair, frame(2)])
    assert audio is not None
    assert audio.missing == 0
    assert audio.pcm == payload(0) + payload(1) + payload(2)


def test_assemble_single_frame() -> None:
    audio = assemble([frame(7)])
    assert audio is not None
    assert (audio.seq_first, audio.seq_last, audio.missing) == (7, 7, 0)
    assert audio.pcm == payload(7)
    assert audio.seconds == pytest.approx(0.1)


# split_sentences


def word(text: str, start: float, end: float) -> ModelWord:
    return ModelWord(word=text, start=start, end=end, probability=0.9)


def segment(words: list[ModelWord], start: float = 0.0, end: float | None = None) -> ModelSegment:
    return ModelSegment(
        start=start, end=words[-1].end + 0.2 if end is None else end,
        text="".join(w.word for w in words), words=tuple(words), avg_logprob=-0.2,
        no_speech_prob=0.01, compression_ratio=1.3,
    )


def assert_partition(seg: ModelSegment, parts: list[ModelSegment]) -> None:
    """Every word once, in order; the first part starts at the segment, the last ends at it."""
    assert [w for p in parts for w in p.words] == list(seg.words)
    assert parts[0].start == seg.start
    assert parts[-1].end == seg.end
    for p in parts:
        assert p.text == "".join(w.word for w in p.words)
        assert (p.avg_logprob, p.no_speech_prob, p.compression_ratio) == (
            seg.avg_logprob, seg.no_speech_prob, seg.compression_ratio)
        assert p.start <= p.end


THREE_SENTENCES = [
    word(" Hello", 0.1, 0.6), word(" everyone,", 0.6, 1.2), word(" welcome.", 1.2, 1.9),
    word(" Did", 2.0, 2.3), word(" you", 2.3, 2.5), word(" hear", 2.5, 2.8), word(" me?", 2.8, 3.4),
    word(" Great!", 3.6, 4.8), word(" Then", 4.9, 5.2), word(" go", 5.2, 5.5),
]


def test_split_at_sentence_ends() -> None:
    seg = segment(THREE_SENTENCES, start=0.0, end=6.0)
    parts = split_sentences(seg, min_s=1.0)
    assert [p.text for p in parts] == [
        " Hello everyone, welcome.", " Did you hear me?", " Great!", " Then go",
    ]
    assert [(p.start, p.end) for p in parts] == [(0.0, 1.9), (2.0, 3.4), (3.6, 4.8), (4.9, 6.0)]
    assert_partition(seg, parts)


def test_split_respects_min_s() -> None:
    words = [
        word(" Yes.", 0.0, 0.3), word(" No.", 0.4, 0.7), word(" Maybe", 0.8, 1.0),
        word(" later.", 1.0, 1.5), word(" Right", 1.6, 2.0), word(" then.", 2.0, 2.4),
    ]
    seg = segment(words, start=0.0, end=2.5)
    parts = split_sentences(seg, min_s=1.0)
    # " Yes." (0.3 s) and " No." (0.7 s from 0.0) are too short; " later." ends 1.5 s in.
    assert [p.text for p in parts] == [" Yes. No. Maybe later.", " Right then."]
    for p in parts[:-1]:
        assert p.words[-1].end - p.words[0].start >= 1.0
    assert_partition(seg, parts)


def test_split_with_zero_min_s_cuts_at_every_sentence_end() -> None:
    words = [word(" Yes.", 0.0, 0.3), word(" No.", 0.4, 0.7), word(" Ok", 0.8, 1.0)]
    seg = segment(words, start=0.0, end=1.1)
    parts = split_sentences(seg, min_s=0.0)
    assert [p.text for p in parts] == [" Yes.", " No.", " Ok"]
    assert_partition(seg, parts)


def test_split_large_min_s_keeps_one_part() -> None:
    seg = segment(THREE_SENTENCES, start=0.0, end=6.0)
    parts = split_sentences(seg, min_s=60.0)
    assert len(parts) == 1
    assert parts[0].words == seg.words
    assert (parts[0].start, parts[0].end) == (seg.start, seg.end)


@pytest.mark.parametrize("end", SENTENCE_END)
def test_split_at_every_sentence_end_character(end: str) -> None:
    words = [word(f"\u4f60\u597d{end}", 0.0, 1.5), word("\u518d\u89c1", 1.6, 2.5)]
    seg = segment(words, start=0.0, end=3.0)
    parts = split_sentences(seg, min_s=1.0)
    assert [p.text for p in parts] == [f"\u4f60\u597d{end}", "\u518d\u89c1"]
    assert_partition(seg, parts)


def test_cjk_full_stops_are_sentence_ends() -> None:
    assert {"\u3002", "\uff1f", "\uff01"} <= set(SENTENCE_END)


def test_split_ignores_trailing_whitespace_on_the_word() -> None:
    words = [word(" Done. ", 0.0, 1.2), word(" Next", 1.3, 2.0)]
    seg = segment(words, start=0.0, end=2.0)
    assert [p.text for p in split_sentences(seg)] == [" Done. ", " Next"]


def test_split_commas_and_colons_are_not_sentence_ends() -> None:
    words = [word(" one,", 0.0, 1.5), word(" two;", 1.5, 3.0), word(" three:", 3.0, 4.5),
             word(" four", 4.5, 6.0)]
    seg = segment(words)
    assert split_sentences(seg) == [seg]


def test_split_ending_with_a_sentence_end_uses_the_segment_end() -> None:
    words = [word(" First.", 0.5, 1.8), word(" Second.", 2.0, 3.5)]
    seg = segment(words, start=0.2, end=4.0)
    parts = split_sentences(seg)
    assert [(p.start, p.end) for p in parts] == [(0.2, 1.8), (2.0, 4.0)]
    assert_partition(seg, parts)


def test_split_no_words_is_unchanged() -> None:
    seg = ModelSegment(start=1.0, end=5.0, text=" No timestamps. At all.", words=(),
                       avg_logprob=-0.3, no_speech_prob=0.1, compression_ratio=1.1)
    assert split_sentences(seg) == [seg]
    assert split_sentences(seg)[0] is seg


def test_split_single_word() -> None:
    seg = segment([word(" Hi.", 0.3, 0.8)], start=0.0, end=1.0)
    assert split_sentences(seg) == [seg]


@pytest.mark.parametrize("seed", range(20))
def test_split_random_segments_keep_every_word_once_in_order(seed: int) -> None:
    rng = random.Random(seed)
    t = rng.uniform(0.0, 2.0)
    seg_start = t - rng.uniform(0.0, 0.5)
    words = []
    for i in range(rng.randint(1, 40)):
        dur = rng.uniform(0.05, 0.8)
        end = rng.choice(["", "", "", ",", ".", "?", "!", "\u3002"])
        words.append(word(f" w{i}{end}", round(t, 3), round(t + dur, 3)))
        t += dur + rng.uniform(0.0, 0.3)
    seg = segment(words, start=seg_start, end=t + 0.1)
    min_s = rng.uniform(0.0, 3.0)
    parts = split_sentences(seg, min_s=min_s)
    assert_partition(seg, parts)
    for p in parts[:-1]:
        assert p.words[-1].word.strip().endswith(SENTENCE_END)
        assert p.words[-1].end - p.words[0].start >= min_s
        assert p.end == p.words[-1].end
    for p in parts[1:]:
        assert p.start == p.words[0].start


# eta_s


@pytest.mark.parametrize(
    ("elapsed", "fraction", "expected"),
    [(10.0, 0.5, 10.0), (10.0, 0.25, 30.0), (30.0, 0.75, 10.0), (5.0, 1.0, 0.0), (1.0, 0.1, 9.0)],
)
def test_eta_at_the_pace_so_far(elapsed: float, fraction: float, expected: float) -> None:
    assert eta_s(elapsed, fraction) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("elapsed", "fraction"), [(10.0, 0.0), (0.0, 0.5), (0.0, 0.0), (5.0, -0.1), (-1.0, 0.5)]
)
def test_eta_none_before_there_is_a_pace(elapsed: float, fraction: float) -> None:
    assert eta_s(elapsed, fraction) is None


def test_eta_never_negative() -> None:
    assert eta_s(10.0, 1.5) == 0.0
