"""transcribe/segments.py: model output -> SegmentEvents with stable ids."""

from __future__ import annotations

import pytest

from stenograph.schemas.events import SegmentEvent, Word
from stenograph.transcribe.model import DecodeOptions, ModelSegment, ModelWord, Transcription
from stenograph.transcribe.policy import BufferedFrame, Chunk
from stenograph.transcribe.segments import (
    LIVE_RUN,
    SessionRef,
    is_plausible_speech,
    loop_spans,
    segment_id,
    to_events,
    without_loop_spans,
    without_loops,
)

SESSION_START = 1_700_000_000_000_000_000
CHUNK_START = SESSION_START + 12_500_000_000  # chunk begins 12.5 s into the session
REF = SessionRef(tenant_id="t1", meeting_id="m1", session_id="sess", session_started_at_ns=SESSION_START)
OPTIONS = DecodeOptions()


def chunk(seq_first: int = 125, n: int = 40, start_ns: int = CHUNK_START) -> Chunk:
    return Chunk(tuple(
        BufferedFrame(seq=seq_first + i, offset=i, capture_time_ns=start_ns + i * 100_000_000,
                      payload=b"\x01\x00" * 1600, duration_s=0.1, speech=0.9, zero=False)
        for i in range(n)
    ))


def seg(
    start: float, end: float, text: str, *, words: tuple[ModelWord, ...] = (),
    avg_logprob: float = -0.2, no_speech_prob: float = 0.05, compression_ratio: float = 1.3,
) -> ModelSegment:
    return ModelSegment(start=start, end=end, text=text, words=words, avg_logprob=avg_logprob,
                        no_speech_prob=no_speech_prob, compression_ratio=compression_ratio)


def events(result: Transcription, c: Chunk | None = None, **kw: str) -> list[SegmentEvent]:
    return to_events(REF, c or chunk(), result, model="tiny.en", options=OPTIONS, **kw)


def test_segment_id_format_and_stability() -> None:
    assert segment_id("sess", 125, 0) == "sess-125-0"
    assert segment_id("sess", 125, 3) == segment_id("sess", 125, 3)
    ids = {segment_id(s, f, i) for s in ("a", "b") for f in (0, 1, 10) for i in (0, 1)}
    assert len(ids) == 12


def test_maps_segments_with_offsets() -> None:
    words = (ModelWord(" Hello", 0.5, 0.75, 0.9), ModelWord(" there.", 0.75, 1.25, 0.5))
    result = Transcription(
        (seg(0.5, 1.25, "  Hello there. ", words=words), seg(2.0, 3.5, " Second one.")), "en", 0.98
    )
    out = events(result)
    assert len(out) == 2
    first, second = out
    assert first.segment_id == "sess-125-0"
    assert first.event_id == "live:sess-125-0:0"
    assert (first.run_id, first.revision, first.completed) == (LIVE_RUN, 0, True)
    assert (first.tenant_id, first.meeting_id, first.session_id) == ("t1", "m1", "sess")
    assert first.text == "Hello there."
    assert (first.start_s, first.end_s) == (13.0, 13.75)
    assert first.start_time_ns == CHUNK_START + 500_000_000
    assert first.end_time_ns == CHUNK_START + 1_250_000_000
    assert first.words == (
        Word(word=" Hello", start_s=13.0, end_s=13.25, probability=0.9),
        Word(word=" there.", start_s=13.25, end_s=13.75, probability=0.5),
    )
    assert (first.language, first.model) == ("en", "tiny.en")
    # the language was detected (none fixed), so its confidence is recorded with the settings
    assert first.settings == {**OPTIONS.as_settings(), "language_probability": "0.980"}
    assert (first.seq_first, first.seq_last) == (125, 164)
    assert second.segment_id == "sess-125-1"
    assert (second.start_s, second.end_s) == (14.5, 16.0)
    assert second.start_time_ns == CHUNK_START + 2_000_000_000
    assert second.end_time_ns == CHUNK_START + 3_500_000_000
    assert second.words == ()


def test_times_are_rounded_to_milliseconds() -> None:
    (e,) = events(Transcription((seg(0.12345, 0.98765, "x"),), "en"))
    assert e.start_s == 12.623
    assert e.end_s == 13.488


def test_chunk_at_session_start() -> None:
    (e,) = events(Transcription((seg(1.5, 2.0, "hi"),), None), chunk(0, 10, SESSION_START))
    assert (e.start_s, e.end_s) == (1.5, 2.0)
    assert e.start_time_ns == SESSION_START + 1_500_000_000
    assert e.segment_id == "sess-0-0"
    assert e.language is None


def test_run_id_goes_into_event_id() -> None:
    (e,) = events(Transcription((seg(0, 1, "hi"),), "en"), run_id="replay-7")
    assert e.run_id == "replay-7"
    assert e.event_id == "replay-7:sess-125-0:0"
    assert e.segment_id == "sess-125-0"


def test_ids_stable_for_the_same_chunk() -> None:
    result = Transcription((seg(0, 1, "one"), seg(1, 2, "two"), seg(2, 3, "three")), "en")
    a, b = events(result), events(result)
    assert [e.segment_id for e in a] == ["sess-125-0", "sess-125-1", "sess-125-2"]
    assert [e.segment_id for e in b] == [e.segment_id for e in a]
    assert [e.event_id for e in a] == [e.event_id for e in b]
    other = events(result, chunk(seq_first=165))
    assert [e.segment_id for e in other] == ["sess-165-0", "sess-165-1", "sess-165-2"]


def test_ids_keep_model_index_when_segments_are_dropped() -> None:
    result = Transcription((seg(0, 1, "  "), seg(1, 2, "kept"), seg(2, 3, "", avg_logprob=-3)), "en")
    (e,) = events(result)
    assert e.segment_id == "sess-125-1"


@pytest.mark.parametrize(
    ("segment", "why"),
    [
        (seg(0, 1, ""), "empty text"),
        (seg(0, 1, "   \n"), "blank text"),
        (seg(0, 1, "la la la la la la", compression_ratio=2.5), "repetition loop"),
        (seg(0, 1, "Thank you.", no_speech_prob=0.9, avg_logprob=-1.2), "no speech, low logprob"),
        (seg(0, 1, "mumble", avg_logprob=-1.6), "very low logprob"),
    ],
)
def test_implausible_segments_are_dropped(segment: ModelSegment, why: str) -> None:
    assert not is_plausible_speech(segment, OPTIONS), why
    assert events(Transcription((segment,), "en")) == [], why


@pytest.mark.parametrize(
    ("segment", "why"),
    [
        (seg(0, 1, "ok", compression_ratio=2.4), "ratio at threshold"),
        (seg(0, 1, "ok", no_speech_prob=0.9, avg_logprob=-0.5), "no speech but confident"),
        (seg(0, 1, "ok", no_speech_prob=0.6, avg_logprob=-1.2), "no speech at threshold"),
        (seg(0, 1, "ok", no_speech_prob=0.1, avg_logprob=-1.5), "logprob at floor"),
    ],
)
def test_plausible_borderline_segments_are_kept(segment: ModelSegment, why: str) -> None:
    assert is_plausible_speech(segment, OPTIONS), why
    assert len(events(Transcription((segment,), "en"))) == 1, why


def test_thresholds_come_from_options() -> None:
    s = seg(0, 1, "ok", compression_ratio=2.0, avg_logprob=-0.8)
    assert is_plausible_speech(s, OPTIONS)
    assert not is_plausible_speech(s, DecodeOptions(compression_ratio_threshold=1.9))
    assert not is_plausible_speech(s, DecodeOptions(log_prob_threshold=-0.2))


def test_no_segments() -> None:
    assert events(Transcription((), "en")) == []


# repetition loops


def kept(text: str) -> str:
    tokens = text.split()
    return " ".join(without_loop_spans(tokens, loop_spans(tokens)))


@pytest.mark.parametrize(("said", "written"), [
    ("and he said and he said and he said you know", "and he said you know"),
    ("I think, I think. I think we", "I think, we"),  # punctuation and case do not hide a loop
    ("x y z x y z x y z x y z", "x y z"),
    ("no no no no no yes", "no yes"),
    ("no, no, no, no", "no, no, no, no"),  # single words need five in a row
    ("thank you thank you", "thank you thank you"),  # twice is speech
    ("the the the cat", "the the the cat"),
    ("", ""),
])
def test_loops_are_cut_to_their_first_saying(said: str, written: str) -> None:
    assert kept(said) == written


def test_loops_leave_words_and_text_in_step() -> None:
    words = tuple(ModelWord(w, i * 0.2, i * 0.2 + 0.2, 0.9)
                  for i, w in enumerate([" and", " he", " said"] * 3 + [" okay."]))
    out = without_loops(seg(0, 2.0, "".join(w.word for w in words), words=words))
    assert out.text == " and he said okay."
    assert [w.word for w in out.words] == [" and", " he", " said", " okay."]
    assert out.end == pytest.approx(2.0)  # the last word kept ends where it did


def test_loops_reach_the_events() -> None:
    result = Transcription((seg(0, 3, " we can we can we can go"),), "en", 1.0)
    (event,) = to_events(REF, chunk(), result, model="tiny.en", options=OPTIONS)
    assert event.text == "we can go"
