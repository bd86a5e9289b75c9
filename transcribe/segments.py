"""Pure: model output for one chunk -> SegmentEvents with stable ids, minus what was not said."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from stenograph.schemas import LIVE_RUN, SegmentEvent, Word
from stenograph.transcribe.model import DecodeOptions, ModelSegment, Transcription


@dataclass(frozen=True)
class SessionRef:
    tenant_id: str
    meeting_id: str
    session_id: str
    session_started_at_ns: int


class AudioSpan(Protocol):
    """The audio given to the model: a live chunk or a replayed session."""

    @property
    def seq_first(self) -> int: ...

    @property
    def seq_last(self) -> int: ...

    @property
    def capture_time_ns(self) -> int: ...


@dataclass(frozen=True)
class Span:
    """Audio given to the model, named by its frames: capture_time_ns places its words and
    seq_first names its segments."""

    seq_first: int
    seq_last: int
    capture_time_ns: int


def segment_id(session_id: str, chunk_seq_first: int, index: int) -> str:
    """Stable across re-deliveries: chunks are cut deterministically from the frames."""
    return f"{session_id}-{chunk_seq_first}-{index}"


CONFIDENT_NO_SPEECH = 0.85
RETIRED_REVISION = 2**31 - 1


def is_plausible_speech(seg: ModelSegment, options: DecodeOptions) -> bool:
    """The model's own signals say whether a segment was really spoken."""
    if not any(ch.isalnum() for ch in seg.text):
        return False  # " ." and friends: what the model writes for hum
    if seg.compression_ratio > options.compression_ratio_threshold:
        return False  # repetition loops
    if seg.no_speech_prob > options.no_speech_threshold and seg.avg_logprob < options.log_prob_threshold:
        return False
    if seg.no_speech_prob > CONFIDENT_NO_SPEECH and seg.avg_logprob < -0.6:
        return False  # " You" on silence: near-certain no speech, weakly worded text
    return seg.avg_logprob >= options.log_prob_threshold - 0.5


T = TypeVar("T")
MAX_LOOP_PHRASE = 6  # words
# a phrase said this many times in a row is the decoder looping, not a speaker (single words
# need more: "no, no, no" is said)
LOOP_REPEATS = {1: 5}
LOOP_REPEATS_DEFAULT = 3


def word_key(word: str) -> str:
    """A word as compared: lower case, without punctuation."""
    return re.sub(r"[^\w']+", "", word.lower())


def _loop_at(keys: list[str], i: int) -> tuple[int, int] | None:
    """(phrase length, times said) of the shortest phrase at i that loops, if any."""
    for n in range(1, MAX_LOOP_PHRASE + 1):
        phrase = keys[i:i + n]
        if len(phrase) < n or not all(phrase):
            return None
        times = 1
        while keys[i + times * n:i + (times + 1) * n] == phrase:
            times += 1
        if times >= LOOP_REPEATS.get(n, LOOP_REPEATS_DEFAULT):
            return n, times
    return None


def loop_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """[start, end) spans of tokens that only repeat the phrase just before them."""
    keys = [word_key(t) for t in tokens]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(keys):
        if (loop := _loop_at(keys, i)) is not None:
            n, times = loop
            spans.append((i + n, i + n * times))
            i += n * times
        else:
            i += 1
    return spans


def without_loop_spans(items: Sequence[T], spans: list[tuple[int, int]]) -> list[T]:
    return [x for i, x in enumerate(items) if not any(a <= i < b for a, b in spans)]


def without_loops(seg: ModelSegment) -> ModelSegment:
    """The segment with repetition loops cut to their first saying (words and text alike)."""
    if seg.words:
        spans = loop_spans([w.word for w in seg.words])
        if not spans:
            return seg
        words = tuple(without_loop_spans(seg.words, spans))
        return replace(seg, words=words, end=words[-1].end, text="".join(w.word for w in words))
    tokens = seg.text.split()
    spans = loop_spans(tokens)
    return replace(seg, text=" ".join(without_loop_spans(tokens, spans))) if spans else seg


def plausible(segments: Sequence[ModelSegment], options: DecodeOptions) -> list[ModelSegment]:
    """What the model really said, as to_events keeps it (loops cut to their first saying)."""
    return [without_loops(s) for s in segments if is_plausible_speech(s, options)]


def after_boundary(result: Transcription, boundary_s: float) -> Transcription:
    """A decode of left context + chunk as if of the chunk alone: words whose middle lies
    before boundary_s belong to the context (already transcribed) and are dropped; times are
    shifted to the chunk's start."""
    if boundary_s <= 0:
        return result
    kept: list[ModelSegment] = []
    for seg in result.segments:
        if not seg.words:
            if (seg.start + seg.end) / 2 >= boundary_s:
                kept.append(replace(seg, start=max(0.0, seg.start - boundary_s),
                                    end=seg.end - boundary_s))
            continue
        words = tuple(
            replace(w, start=max(0.0, w.start - boundary_s), end=max(0.0, w.end - boundary_s))
            for w in seg.words if (w.start + w.end) / 2 >= boundary_s
        )
        if not words:
            continue
        start = seg.start - boundary_s if len(words) == len(seg.words) else words[0].start
        kept.append(replace(seg, start=max(0.0, start), end=max(words[-1].end, seg.end - boundary_s),
                            words=words, text="".join(w.word for w in words)))
    return replace(result, segments=tuple(kept))


def delayed(segments: Sequence[ModelSegment], seconds: float) -> tuple[ModelSegment, ...]:
    """Segments decoded from audio that started `seconds` into the span, timed from its start."""
    if not seconds:
        return tuple(segments)
    return tuple(
        replace(seg, start=seg.start + seconds, end=seg.end + seconds,
                words=tuple(replace(w, start=w.start + seconds, end=w.end + seconds) for w in seg.words))
        for seg in segments
    )


def to_events(
    ref: SessionRef, chunk: AudioSpan, result: Transcription, *, model: str, options: DecodeOptions,
    run_id: str = LIVE_RUN, first_index: int = 0, settles_until_s: float | None = None,
    detected: float | None = None,
) -> list[SegmentEvent]:
    offset_s = (chunk.capture_time_ns - ref.session_started_at_ns) / 1e9
    events: list[SegmentEvent] = []
    settings = options.as_settings()
    if detected is None and options.language is None:
        detected = result.language_probability
    if detected is not None:  # the language was detected: say how sure the model was
        settings = {**settings, "language_probability": f"{detected:.3f}"}
    for index, seg in enumerate(result.segments, start=first_index):
        if not is_plausible_speech(seg, options):
            continue
        seg = without_loops(seg)
        words = tuple(
            Word(word=w.word, start_s=round(offset_s + w.start, 3), end_s=round(offset_s + w.end, 3),
                 probability=w.probability)
            for w in seg.words
        )
        events.append(SegmentEvent(
            tenant_id=ref.tenant_id,
            meeting_id=ref.meeting_id,
            event_id=f"{run_id}:{segment_id(ref.session_id, chunk.seq_first, index)}:0",
            run_id=run_id,
            session_id=ref.session_id,
            segment_id=segment_id(ref.session_id, chunk.seq_first, index),
            revision=0,
            completed=True,
            start_s=round(offset_s + seg.start, 3),
            end_s=round(offset_s + seg.end, 3),
            start_time_ns=chunk.capture_time_ns + int(seg.start * 1e9),
            end_time_ns=chunk.capture_time_ns + int(seg.end * 1e9),
            text=seg.text.strip(),
            words=words,
            language=result.language,
            model=model,
            settings=settings,
            seq_first=chunk.seq_first,
            seq_last=chunk.seq_last,
            settles_until_s=settles_until_s,
        ))
    return events


def segment_kind(event: SegmentEvent) -> str:
    """What a segment event is, for the counters: final, interim, retired or end."""
    if event.session_end:
        return "end"
    if not event.completed:
        return "interim"
    return "retired" if event.retires else "final"


def interim_id(session_id: str, chunk_seq_first: int) -> str:
    """The one revisable segment of an open chunk; retired when the chunk's finals are out."""
    return f"{session_id}-{chunk_seq_first}-p"


def interim_event(
    ref: SessionRef, chunk: AudioSpan, result: Transcription, *, model: str, options: DecodeOptions,
) -> SegmentEvent | None:
    """The open chunk's current hypothesis as one not-completed segment.

    Its revision is the number of frames heard so far, so a re-decode after a restart never
    goes back to an older text.
    """
    finals = to_events(ref, chunk, result, model=model, options=options)
    if not finals:
        return None
    sid = interim_id(ref.session_id, chunk.seq_first)
    return replace(
        finals[0], segment_id=sid, event_id=f"{LIVE_RUN}:{sid}:{chunk.seq_last}",
        revision=chunk.seq_last - chunk.seq_first + 1, completed=False,
        end_s=finals[-1].end_s, end_time_ns=finals[-1].end_time_ns,
        text=" ".join(e.text for e in finals), words=tuple(w for e in finals for w in e.words),
    )


def cleared_interim(ref: SessionRef, span: AudioSpan, *, model: str) -> SegmentEvent:
    """The open interim with nothing left in it (its words are final now): no text, still open."""
    sid = interim_id(ref.session_id, span.seq_first)
    return replace(retirement(ref, span, model=model), event_id=f"{LIVE_RUN}:{sid}:{span.seq_last}",
                   revision=span.seq_last - span.seq_first + 1, completed=False)


def retirement(ref: SessionRef, chunk: AudioSpan, *, model: str) -> SegmentEvent:
    """Ends the chunk's interim segment: completed with no text (the finals replace it)."""
    sid = interim_id(ref.session_id, chunk.seq_first)
    offset_s = (chunk.capture_time_ns - ref.session_started_at_ns) / 1e9
    return SegmentEvent(
        tenant_id=ref.tenant_id, meeting_id=ref.meeting_id, event_id=f"{LIVE_RUN}:{sid}:retired",
        run_id=LIVE_RUN, session_id=ref.session_id, segment_id=sid, revision=RETIRED_REVISION,
        completed=True, start_s=round(offset_s, 3), end_s=round(offset_s, 3),
        start_time_ns=chunk.capture_time_ns, end_time_ns=chunk.capture_time_ns, text="",
        model=model, seq_first=chunk.seq_first, seq_last=chunk.seq_last,
    )


def session_closed(
    ref: SessionRef, *, seq_last: int, model: str, run_id: str = LIVE_RUN,
) -> SegmentEvent:
    """After a session's last frame in this run: everything it said is out (`session_end`).

    The aggregator turns it into a TranscriptCompleted once Redis holds the session's run; the
    WhisperLive gateway ends the client's stream on it.
    """
    sid = f"{ref.session_id}-end"
    return SegmentEvent(
        tenant_id=ref.tenant_id, meeting_id=ref.meeting_id, event_id=f"{run_id}:{sid}",
        run_id=run_id, session_id=ref.session_id, segment_id=sid, revision=RETIRED_REVISION,
        completed=True, start_s=0.0, end_s=0.0, start_time_ns=ref.session_started_at_ns,
        end_time_ns=ref.session_started_at_ns, text="", model=model, seq_first=seq_last,
        seq_last=seq_last, session_end=True,
    )
