"""live_policy=agree: transcribe/agree.py, and the worker driving it with a scripted model whose
last words are unstable until it has heard past them. Every word of the script becomes final
once, in order, whether the worker runs through or is restarted from any checkpoint."""

from __future__ import annotations

import asyncio
import itertools
import zlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest

from stenograph.readmodel import should_store_segment
from stenograph.schemas.codec import codec
from stenograph.schemas.events import (
    LIVE_RUN,
    SETTLED_RUN,
    AudioFrame,
    ConfigChanged,
    JoinRequested,
    SegmentEvent,
)
from stenograph.schemas.topics import SEGMENTS
from stenograph.transcribe import worker as worker_module
from stenograph.transcribe.agree import (
    NO_DECODE,
    Agreement,
    Heard,
    not_before,
    pending_segments,
    split_words,
    stride_point,
)
from stenograph.transcribe.checkpoint import (
    LEGACY_TAG,
    METADATA_TAG,
    Watermark,
    decode_metadata,
    encode_metadata,
)
from stenograph.transcribe.configs import apply_command
from stenograph.transcribe.model import DecodeOptions, ModelSegment, ModelWord, Transcription
from stenograph.transcribe.policy import BufferedFrame
from stenograph.transcribe.settings import TranscriberSettings
from stenograph.transcribe.worker import TranscriberWorker

FRAME = 1600  # samples: 100 ms
WORD_S = 0.5  # the script says a word every half second
WORDS = 60
SESSION_S = WORDS * WORD_S + 1.5
UNSURE_S = 0.3  # the model garbles a word this close to the end of what it heard


def seg(text: str, start: float, end: float) -> ModelSegment:
    return ModelSegment(start, end, text, (ModelWord(text, start, end, 0.9),), -0.2, 0.01, 1.1)


# -- pure ---------------------------------------------------------------------------


def test_stride_points_are_where_the_sessions_audio_crosses_each_stride() -> None:
    points = [seq for seq in range(40) if stride_point(
        BufferedFrame(seq, seq, 5 * 10**9 + seq * 10**8, b"", 0.1, 0.9, False), 5 * 10**9, 1.0)]
    assert points == [9, 19, 29, 39]


def test_words_are_final_when_two_decodes_agree_on_them_and_all_before() -> None:
    a = Agreement(agree_from_s=4.0)
    first = [Heard(1.0, "and", 1.2), Heard(1.5, "so", 1.7), Heard(2.0, "my", 2.2)]
    assert a.agreed(first, window_s=5.0) == 0  # nothing to agree with yet
    a.decoded(10, first)
    assert a.agreed([Heard(1.0, "and", 1.2), Heard(1.5, "so", 1.7), Heard(2.0, "am", 2.2)], window_s=5.0) == 2
    assert a.agreed(first, window_s=3.0) == 0  # too little of the window heard
    a.final_until_s = 1.2  # "and" is final: agreement starts after it
    assert a.agreed([Heard(1.0, "and", 1.2), Heard(1.5, "so", 1.7), Heard(2.0, "my", 2.2)], window_s=5.0) == 2
    changed = [Heard(1.0, "and", 1.2), Heard(1.5, "sew", 1.7), Heard(2.0, "me", 2.2)]
    assert a.agreed(changed, window_s=5.0, held_until_s=1.8) == 1  # "sew" is held long enough
    a.decoded(20, None)  # a window's full decode: the next one agrees with nothing
    assert a.agreed(first, window_s=5.0) == 0 and a.previous_seq == -1 and a.next_seq == 21
    assert a.agreed(first, window_s=5.0, held_until_s=1.8) == 1


def test_finals_start_no_sooner_than_the_finals_before_them_end() -> None:
    words = (ModelWord(" a", 0.9, 1.4, 0.9), ModelWord(" b", 1.5, 2.0, 0.9))
    segments = [ModelSegment(0.9, 2.0, " a b", words, -0.2, 0.0, 1.0), seg(" c", 2.2, 2.6)]
    moved = not_before(segments, 1.0)
    assert moved[0].start == 1.0 and moved[0].words[0].start == 1.0 and moved[0].words[1] == words[1]
    assert moved[1] is segments[1]
    early_word = ModelSegment(1.0, 2.0, " d", (ModelWord(" d", 0.95, 2.0, 0.9),), -0.2, 0.0, 1.0)
    assert not_before([early_word], 1.0)[0].words[0].start == 1.0  # the segment's start is no guide


def test_pending_words_and_the_split_between_final_and_interim() -> None:
    two = (ModelWord(" a", 0.0, 0.4, 0.9), ModelWord(" b", 0.5, 1.0, 0.9))
    segments = [ModelSegment(0.0, 1.0, " a b", two, -0.2, 0.0, 1.0), seg(" c", 1.2, 1.6)]
    pending = pending_segments(segments, window_start_s=10.0, final_until_s=10.3)
    assert [w.word for s in pending for w in s.words] == [" b", " c"]
    assert pending[0].text == " b" and pending[0].start == 0.5
    final, rest = split_words(segments, 2)
    assert [s.text for s in final] == [" a b"] and [s.text for s in rest] == [" c"]
    final, rest = split_words(segments, 1)
    assert [s.text for s in final] == [" a"] and [s.text for s in rest] == [" b", " c"]


# -- the worker --------------------------------------------------------------------------


@dataclass(frozen=True)
class Decode:
    """One call of the model: at which frame, over which frames' audio, with what lead."""

    at: int
    first: int  # seq of the audio's first and last frames
    last: int
    samples: int
    lead: tuple[int, ...]  # seq of each lead frame the model was given, in order
    language: str | None


class ScriptedModel:
    """Hears word i over [i/2 + 0.05, i/2 + 0.45] s of the session (every other growing
    decode 0.13 s sooner: into the pause before the word); a word ending within
    UNSURE_S of the end of its audio comes out different at every length. Each sample carries
    its frame's seq + 1, so the model knows where its audio starts."""

    name = "scripted"

    def __init__(self) -> None:
        self.now = -1  # the frame being handled (set by run)
        self.calls: list[Decode] = []

    def transcribe(self, audio: np.ndarray, options: DecodeOptions, lead: int = 0) -> Transcription:
        whole = np.round(audio * 32768).astype(int)
        body = whole[lead:]
        first = int(body[0])
        self.calls.append(Decode(self.now, first - 1, int(body[-1]) - 1, len(body),
                                 tuple(int(x) - 1 for x in whole[:lead:FRAME]), options.language))
        in_first = int(np.argmax(body != first)) or len(body)
        start = (first - 1) * FRAME / 16000 + (FRAME - in_first) / 16000
        end = start + len(body) / 16000
        segments = []
        # greedy (growing) decodes place words apart by what they heard; full ones where they are
        shift = 0.13 * (len(body) // FRAME // 10 % 2) if options.beam_size == 1 else 0.0
        for i in range(WORDS):
            ws, we = i * WORD_S + 0.05 - shift, i * WORD_S + 0.45 - shift
            if (ws + we) / 2 < start:
                continue
            if we > end:
                break
            text = f" w{i}" if we <= end - UNSURE_S else f" x{len(body)}"
            segments.append(seg(text, max(0.0, ws - start), we - start))
        return Transcription(tuple(segments), "en", 1.0)

    def detect(self, audio: np.ndarray) -> tuple[str, float]:
        return "en", 1.0


class Producer:
    def __init__(self) -> None:
        self.segments: list[SegmentEvent] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> asyncio.Future[None]:
        if topic == "meetings.segments":
            self.segments.append(codec(SEGMENTS).decode(value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        await self.send(topic, value, key)


def frames() -> list[AudioFrame]:
    out = []
    n = round(SESSION_S * 10)
    for seq in range(n):
        payload = np.full(FRAME, seq + 1, dtype="<i2").tobytes()
        out.append(AudioFrame(tenant_id="t", meeting_id="m", session_id="s", seq=seq,
                              capture_time_ns=seq * 10**8, session_started_at_ns=0, sample_rate=16000,
                              channels=1, payload=payload, crc32=zlib.crc32(payload), last=seq == n - 1))
    return out


def agreeing_worker(producer: Producer, metadata: str | None = None,
                    model: ScriptedModel | None = None, policy: str = "agree",
                    settle: bool = True) -> TranscriberWorker:
    settings = TranscriberSettings(live_policy=policy, settle=settle, settle_window_s=8.0, agree_from_s=2.0)
    worker = TranscriberWorker(settings, model or ScriptedModel())
    worker._producer = producer  # type: ignore[assignment]
    asyncio.run(worker.assigned({"tp": metadata}))  # type: ignore[dict-item]
    return worker


def run(worker: TranscriberWorker, stream: list[AudioFrame], commit_at: int | None = None,
        crash_after: int = 0) -> Any:
    """Frames from stream[0] on; the checkpoint committed at frame commit_at, and the worker
    killed crash_after frames later (what it sent after its commit is out, and is said again)."""
    committed = None

    async def go() -> None:
        nonlocal committed
        for f in stream:
            if commit_at is not None and f.seq == commit_at:
                committed = worker.partitions["tp"].checkpoint()  # type: ignore[index]
            if commit_at is not None and f.seq == commit_at + crash_after:
                return
            worker.model.now = f.seq  # type: ignore[attr-defined]
            await worker._handle("tp", f, f.seq)  # type: ignore[arg-type]
            await drain(worker)
    asyncio.run(go())
    return committed


async def drain(worker: TranscriberWorker) -> None:
    """What the consumer core's poll does between records: settling under pause, interims,
    and saying that a session's settled run is complete."""
    for _ in range(100):
        if not await worker.poll():
            return


def transcript(events: list[SegmentEvent], run_id: str) -> tuple[list[str], list[SegmentEvent]]:
    """What the read model shows of a run: each segment's latest revision, the visible ones."""
    stored: dict[str, SegmentEvent] = {}
    for e in events:
        if e.run_id != run_id or e.session_end:
            continue
        old = stored.get(e.segment_id)
        if should_store_segment(None if old is None else {"completed": old.completed,
                                                          "revision": old.revision}, e):
            stored[e.segment_id] = e
    shown = sorted((e for e in stored.values() if e.text), key=lambda e: (e.start_s, e.segment_id))
    return [w.word.strip() for e in shown for w in e.words], shown


@pytest.fixture(autouse=True)
def everything_is_speech(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "speech_probability", lambda payload: 0.9)


SCRIPT = [f"w{i}" for i in range(WORDS)]


def test_every_word_is_final_once_in_order_and_settled_too() -> None:
    producer = Producer()
    run(agreeing_worker(producer), frames())
    live, shown = transcript(producer.segments, LIVE_RUN)
    assert live == SCRIPT
    assert all(e.completed for e in shown)  # no interim left open with text
    # no final starts before the one before it ends, as whisper-live's client needs to keep it
    ends = [(f"{e.start_s:.3f}", f"{e.end_s:.3f}") for e in shown]
    assert all(float(b[0]) >= float(a[1]) for a, b in itertools.pairwise(ends)), ends
    assert transcript(producer.segments, SETTLED_RUN)[0] == SCRIPT
    # most words were finalized by agreement, before their window's full decode
    by_agreement = [e for e in producer.segments if e.run_id == LIVE_RUN and e.completed and e.text
                    and int(e.segment_id.rsplit("-", 1)[1]) < worker_module.FULL_INDEX]
    assert sum(len(e.words) for e in by_agreement) > WORDS // 2
    interims = [e for e in producer.segments if not e.completed and e.text]
    assert interims and all(w.word.strip().startswith(("w", "x")) for e in interims for w in e.words)


@pytest.mark.parametrize("crash_after", [0, 4, 13, 37])
@pytest.mark.parametrize("commit_at", [7, 23, 41, 80, 95, 150, 222, 290])
def test_a_restart_from_any_checkpoint_loses_and_repeats_no_word(commit_at: int, crash_after: int) -> None:
    stream = frames()
    before = Producer()
    point, metadata = run(agreeing_worker(before), stream, commit_at, crash_after)
    after = Producer()
    run(agreeing_worker(after, metadata), stream[point:])
    live, _ = transcript(before.segments + after.segments, LIVE_RUN)
    assert live == SCRIPT
    assert transcript(before.segments + after.segments, SETTLED_RUN)[0] == SCRIPT
    # what the restarted worker says again, it says in the same words under the same ids
    first = {(e.run_id, e.segment_id): e.text for e in before.segments if e.completed and e.text}
    again = {(e.run_id, e.segment_id): e.text for e in after.segments if e.completed and e.text}
    assert all(first[k] == v for k, v in again.items() if k in first)


def decodes_by_audio(model: ScriptedModel) -> dict[tuple[int, int], tuple[int, ...]]:
    return {(d.first, d.samples): d.lead for d in model.calls}


@pytest.mark.parametrize("again_at", [1, 5, 12])
@pytest.mark.parametrize("commit_at", [23, 95, 150, 222])
def test_a_second_crash_while_a_restart_re_reads_changes_nothing(commit_at: int, again_at: int) -> None:
    """The restarted worker commits while it re-reads the frames before its window (the VAD's
    lead) and is killed at once: the third worker still gives every decode the lead the
    uninterrupted one gave it, and every word once."""
    stream = frames()
    clean = ScriptedModel()
    run(agreeing_worker(Producer(), model=clean), stream)
    first = Producer()
    point, metadata = run(agreeing_worker(first), stream, commit_at, 4)
    second, model2 = Producer(), ScriptedModel()
    point2, metadata2 = run(agreeing_worker(second, metadata, model2), stream[point:], point + again_at, 0)
    third, model3 = Producer(), ScriptedModel()
    run(agreeing_worker(third, metadata2, model3), stream[point2:])
    events = first.segments + second.segments + third.segments
    assert transcript(events, LIVE_RUN)[0] == SCRIPT
    assert transcript(events, SETTLED_RUN)[0] == SCRIPT
    expected = decodes_by_audio(clean)
    redone = [(k, lead) for k, lead in decodes_by_audio(model3).items()]
    assert redone and all(expected[k] == lead for k, lead in redone), \
        [(k, expected.get(k), lead) for k, lead in redone if expected.get(k) != lead]


def test_where_finals_end_is_the_same_in_memory_and_after_a_restart() -> None:
    """The checkpoint keeps where finals end to the millisecond; the worker that wrote it must
    decide on that value too, or a word between the two is final for one and pending for the
    other (lost or said twice)."""
    a = Agreement()
    a.finalized([seg(" w", 0.1, 0.2345678)], window_start_s=1.0)
    worker = TranscriberWorker(TranscriberSettings(live_policy="agree"), ScriptedModel())
    restored = worker._agreement(Watermark(0, 0, final_until_ms=round(a.final_until_s * 1000),
                                           agree_previous=NO_DECODE))
    between = [Heard(1.2347, "v", 1.2347)]  # a word of no length, just after that end
    assert a.pending(between) == restored.pending(between)
    assert restored.final_until_s == a.final_until_s == 1.235


def test_a_settings_change_ends_the_window_and_no_decode_spans_it() -> None:
    """The meeting's language set to de at 10 s of a meeting in en: every decode, growing or
    full, hears audio from one side of the change in that side's language, and the window
    open at the change is decoded in full as soon as the change's frame arrives."""
    producer, model = Producer(), ScriptedModel()
    worker = agreeing_worker(producer, model=model)
    history = worker.configs.history
    apply_command(worker.configs.configs, JoinRequested(
        tenant_id="t", meeting_id="m", platform="zoom", native_meeting_id="n", bot_name="b",
        language="en"), history)
    apply_command(worker.configs.configs, ConfigChanged(
        tenant_id="t", meeting_id="m", language="de", event_time_ns=10 * 10**9), history)
    run(worker, frames())
    # the window before the change ends mid-pause after w19, too near the end of its audio for
    # the model to be sure of it: garbled, but one word, final once, and settled alike
    cut = [*SCRIPT[:19], "x", *SCRIPT[20:]]
    live = transcript(producer.segments, LIVE_RUN)[0]
    assert [w[0] if w.startswith("x") else w for w in live] == cut
    assert transcript(producer.segments, SETTLED_RUN)[0] == live
    spans = [d for d in model.calls if d.first < 100 <= d.last]
    assert not spans, spans
    assert all(d.language == ("en" if d.last < 100 else "de") for d in model.calls)
    # a growing decode at frame 99 (a stride point), the full one at the change's frame, not 8 s on
    assert [d.at for d in model.calls if d.last == 99] == [99, 100]


@pytest.mark.parametrize("commit_at", [7, 41, 81, 150, 222])
@pytest.mark.parametrize(("began", "resumed"), [
    (("pause", True), ("agree", True)), (("agree", True), ("pause", True)),
    (("agree", True), ("pause", False)), (("pause", False), ("agree", True)),
    (("pause", True), ("pause", False)), (("pause", False), ("pause", True)),
])
def test_a_session_keeps_its_policy_and_settling_when_a_worker_set_otherwise_resumes_it(
        began: tuple[str, bool], resumed: tuple[str, bool], commit_at: int) -> None:
    """Workers redeployed with the other live policy or settling while a meeting runs: the
    meeting's live and settled transcripts are those of an undisturbed run as it began, and
    its settled run is said to be complete where it began with one (and only there)."""
    stream = frames()
    undisturbed = Producer()
    run(agreeing_worker(undisturbed, policy=began[0], settle=began[1]), stream)
    before = Producer()
    point, metadata = run(agreeing_worker(before, policy=began[0], settle=began[1]), stream, commit_at, 13)
    after = Producer()
    run(agreeing_worker(after, metadata, policy=resumed[0], settle=resumed[1]), stream[point:])
    for run_id in (LIVE_RUN, SETTLED_RUN):
        assert transcript(before.segments + after.segments, run_id)[0] \
            == transcript(undisturbed.segments, run_id)[0]
    assert bool(transcript(undisturbed.segments, SETTLED_RUN)[0]) is began[1]
    closed = [e.run_id for e in after.segments if e.session_end]
    assert sorted(closed) == sorted([LIVE_RUN, SETTLED_RUN] if began[1] else [LIVE_RUN])


def test_a_checkpoint_from_before_settling_was_recorded_keeps_the_workers_settling() -> None:
    """A watermark of the old format (LEGACY_TAG) cannot say that its session is unsettled: a
    worker with settling off, upgraded, must not start a settled run mid-meeting from it."""
    stream = frames()
    undisturbed = Producer()
    run(agreeing_worker(undisturbed, policy="pause", settle=False), stream)
    before = Producer()
    point, metadata = run(agreeing_worker(before, policy="pause", settle=False), stream, 150, 13)
    marks = {sid: replace(m, settle_seq=None) for sid, m in decode_metadata(metadata).items()}
    legacy = LEGACY_TAG + encode_metadata(marks)[len(METADATA_TAG):]  # as the old workers wrote it
    after = Producer()
    run(agreeing_worker(after, legacy, policy="pause", settle=False), stream[point:])
    assert transcript(before.segments + after.segments, LIVE_RUN)[0] \
        == transcript(undisturbed.segments, LIVE_RUN)[0]
    assert not [e for e in after.segments if e.run_id == SETTLED_RUN]


def test_a_session_whose_settling_failed_stays_unsettled_after_a_restart() -> None:
    """Settling fails (the live finals stay, and the settled run says why); a restart must not
    start settling that session again from the middle of the meeting."""
    stream = frames()
    undisturbed = Producer()
    run(agreeing_worker(undisturbed, policy="pause"), stream)
    before = Producer()
    failing = agreeing_worker(before, policy="pause")

    async def broken(state: Any, seq: int | None = None, *, force: bool = False) -> None:
        raise RuntimeError("the model failed on this window")
    failing._settle = broken  # type: ignore[method-assign]
    point, metadata = run(failing, stream, 150, 13)
    after = Producer()
    run(agreeing_worker(after, metadata, policy="pause"), stream[point:])
    assert transcript(before.segments + after.segments, LIVE_RUN)[0] \
        == transcript(undisturbed.segments, LIVE_RUN)[0]
    assert not [e for e in before.segments + after.segments if e.run_id == SETTLED_RUN]
