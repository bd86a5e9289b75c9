"""The transcriber: consume audio -> integrity -> chunk -> model -> produce segments -> commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from aiokafka import AIOKafkaProducer, TopicPartition

from stenograph.runtime import (
    ConsumerConfig,
    GroupConsumer,
    KeyNotYet,
    KeyRing,
    Record,
    Step,
    log_context,
    metrics,
    reliable_producer,
    wait_unless_failed,
)
from stenograph.schemas import (
    AUDIO,
    LIFECYCLE,
    LIVE_RUN,
    SAMPLE_RATE,
    SEGMENTS,
    SETTLED_RUN,
    AudioFrame,
    AudioHealth,
    HealthKind,
    RunProgress,
    RunState,
    SegmentEvent,
    codec,
    key_of,
    language_problem,
    samples,
)
from stenograph.transcribe.agree import (
    NO_DECODE,
    Agreement,
    heard,
    not_before,
    pending_segments,
    split_words,
    stride_point,
)
from stenograph.transcribe.checkpoint import (
    UNSETTLED,
    Watermark,
    commit_point,
    decode_metadata,
    encode_metadata,
    relevant,
)
from stenograph.transcribe.configs import ConfigFeed
from stenograph.transcribe.integrity import StreamTracker, Verdict, is_digital_zero
from stenograph.transcribe.load import BusyMeter, Ewma
from stenograph.transcribe.model import DecodeOptions, ModelSegment, Transcriber, Transcription
from stenograph.transcribe.policy import EPS_S, BufferedFrame, Chunk, ChunkBuffer, ChunkPolicy, ContextTail
from stenograph.transcribe.segments import (
    SessionRef,
    Span,
    after_boundary,
    cleared_interim,
    delayed,
    interim_event,
    plausible,
    retirement,
    segment_kind,
    session_closed,
    to_events,
)
from stenograph.transcribe.settings import TranscriberSettings
from stenograph.transcribe.settle import SettleBuffer, Window, language_split, settled_part
from stenograph.transcribe.vad import speech_probability

log = logging.getLogger(__name__)
STAGE = "transcriber"
DETECTION_CONFIDENCE = 0.7
# a fetch long-polls 0.5 s: a partition unanswered this long has a broker problem, not a quiet source
FETCH_ANSWERED_S = 3.0


@dataclass
class SessionState:
    """One capture session on this worker: its open live chunk, the left context before it and
    the settling window behind the live edge, all cut from the frames alone."""

    ref: SessionRef
    tracker: StreamTracker
    buffer: ChunkBuffer
    last_offset: int
    context: ContextTail = field(default_factory=ContextTail)
    settle: SettleBuffer | None = None  # None: no settling pass
    live_from: int = 0  # frames below this seq were finalized before a restart: context only
    settle_from: int = 0  # frames below this seq were settled before a restart
    last_seen: float = field(default_factory=time.monotonic)  # a frame read, or some waiting
    done: bool = False
    settled_closed: bool = False
    settle_due_since: float | None = None  # monotonic time its window became due
    interim_heard_s: float = 0.0  # open-chunk audio at its last interim decode
    detected_language: str | None = None  # the meeting's language as last detected with confidence
    agreement: Agreement | None = None  # live_policy=agree: finals by agreement, not by chunk

    @property
    def unshown_s(self) -> float:
        """Audio of the open chunk that no interim has covered yet."""
        return self.buffer.seconds - self.interim_heard_s

    @property
    def first_offset(self) -> int | None:
        """The earliest frame still needed: context, settling window or open chunk."""
        offsets = [self.context.first_offset, self.buffer.first_offset]
        # the lead is held for a window, and while a restart re-reads it before the window's first
        # frame (a settled session's window and lead are both empty)
        if self.settle is not None and (self.settle.frames or self.settle.lead.frames):
            offsets += [self.settle.lead.first_offset, self.settle.first_offset]
        return min((o for o in offsets if o is not None), default=None)

    def watermark(self) -> Watermark:
        nxt = self.tracker.next_seq
        live = self.buffer.first_seq
        live = max(live if live is not None else nxt, self.live_from)
        skip = 0
        if self.settle is None:  # a restart must not start settling it mid-meeting
            settle = UNSETTLED
        elif self.settle.first_seq is not None:
            settle, skip = self.settle.first_seq, self.settle.skip
        else:
            settle = max(nxt, self.settle_from)
            if settle == self.settle_from:
                skip = self.settle.skip  # restarted, its first frame not read again yet
        lead = self.settle.lead.first_seq if self.settle is not None else None
        if self.agreement is not None:
            live = self.agreement.next_seq
        held = (self.context.first_seq, live, settle if self.settle is not None else None, lead)
        retain = min(s for s in held if s is not None)
        if self.agreement is None:
            return Watermark(live, self.last_offset, settle, retain, skip)
        until = self.agreement.final_until_s
        return Watermark(live, self.last_offset, settle, retain, skip,
                         agree_previous=self.agreement.previous_seq,
                         final_until_ms=round(until * 1000) if until >= 0 else -1)


FULL_INDEX = 1_000_000
# the probe of a worker with no final decoded yet: a second of a quiet 440 Hz tone (decoded with
# no VAD, which would skip it and prove nothing)
PROBE_TONE = (0.1 * np.sin(2 * np.pi * 440 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32)
# chunks passed over in a row, whatever their meetings, with no final decoded between: the probe
# has missed a broken model, and the worker exits
PASSED_OVER_LIMIT = 3


def _forget_figures(state: SessionState) -> None:
    """The session's per-meeting metric series go with it (a worker that kept them would grow
    one series a meeting, forever)."""
    with contextlib.suppress(KeyError):  # never set: no final chunk was decoded here
        metrics.REAL_TIME_FACTOR.remove(state.ref.meeting_id)


def interims_due(sessions: Iterable[SessionState], interval_s: float) -> list[SessionState]:
    """Open chunks with at least interval_s of audio not yet shown, the most unshown first."""
    if interval_s <= 0:
        return []
    due = [s for s in sessions if not s.done and s.unshown_s + EPS_S >= interval_s]
    return sorted(due, key=lambda s: -s.unshown_s)


@dataclass
class PartitionState:
    ghosts: dict[str, Watermark] = field(default_factory=dict)  # loaded, not yet seen again
    sessions: dict[str, SessionState] = field(default_factory=dict)
    next_offset: int | None = None

    def checkpoint(self) -> tuple[int, str] | None:
        point = commit_point(
            (o for s in self.sessions.values() if (o := s.first_offset) is not None),
            self.next_offset,
        )
        if point is None:
            return None
        marks = {sid: s.watermark() for sid, s in self.sessions.items()}
        marks = relevant({**self.ghosts, **marks}, point)
        # forget what can never be re-read again
        self.ghosts = {k: v for k, v in self.ghosts.items() if k in marks}
        self.sessions = {
            k: v for k, v in self.sessions.items() if k in marks or not v.done
        }
        return point, encode_metadata(marks)


class TranscriberWorker(Step):
    """The transcriber as a step of the consumer core: frames in, segments out; the commit point
    is the earliest frame a session still holds (transcribe/checkpoint.py)."""

    transient = (KeyNotYet,)  # the keys topic unreadable for now: the same frame again, later

    def __init__(self, settings: TranscriberSettings, model: Transcriber) -> None:
        self.settings = settings
        self.model = model
        self.topics = settings.topics
        self.options = DecodeOptions(language=settings.language, beam_size=settings.beam_size)
        self.interim_options = DecodeOptions(language=settings.language,
                                             beam_size=settings.interim_beam_size)
        self.policy = ChunkPolicy(min_s=settings.chunk_min_s, max_s=settings.chunk_max_s)
        self.model_s: dict[str, float] = {"final": 0.0, "interim": 0.0, "settle": 0.0, "grow": 0.0,
                                          "probe": 0.0}
        self.agree = settings.live_policy == "agree"
        self.settle_s = Ewma(3.0)  # how long a settling decode takes here
        self.partitions: dict[TopicPartition, PartitionState] = {}
        self._segments = codec(SEGMENTS)
        self._lifecycle = codec(LIFECYCLE)
        self.busy = BusyMeter()
        metrics.MODEL_BUSY.set_function(lambda: self.busy.busy(time.monotonic()))  # read when scraped
        self._rejected: set[tuple[str, str]] = set()  # (meeting, language) already reported
        self._last_good: np.ndarray | None = None  # the audio of the last final decoded here
        self._passed_over = 0  # chunks passed over in a row
        self.core: GroupConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._feeds: list[asyncio.Task[None]] = []
        self.configs = ConfigFeed(settings.kafka_bootstrap_servers, self.topics.commands)
        self.keys = KeyRing(settings.kafka_bootstrap_servers, self.topics.keys, settings.master_key)

    # -- lifecycle ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        s = self.settings
        self._producer = reliable_producer(s.kafka_bootstrap_servers)
        self.core = GroupConsumer(ConsumerConfig(
            bootstrap=s.kafka_bootstrap_servers, group_id=s.group_id, stage=STAGE, topics=self.topics,
            bases=(AUDIO,), commit_interval_s=s.commit_interval_s,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        ), self, self._producer)
        await self.producer.start()
        self._feeds = [asyncio.create_task(feed.run(stop)) for feed in (self.configs, self.keys)]
        try:
            # settings and data keys of every meeting before its first chunk; a feed that dies is
            # this worker's end
            await wait_unless_failed(self._feeds, asyncio.gather(self.configs.ready.wait(),
                                                                 self.keys.ready.wait()))
            await self.core.run(stop, on_ready)
        finally:
            stop.set()
            log.info("model time: %s", ", ".join(f"{k} {v:.2f} s" for k, v in self.model_s.items()))
            await self.producer.stop()
            await asyncio.gather(*self._feeds)

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("worker not started")
        return self._producer

    # -- the step: what the core asks of it ----------------------------------------

    async def assigned(self, partitions: dict[TopicPartition, str | None]) -> None:
        for tp, metadata in partitions.items():
            self.partitions[tp] = PartitionState(ghosts=decode_metadata(metadata))

    async def submit(self, record: Record) -> bool:
        frame = await self.keys.open(record.event)
        if frame is None:  # its meeting erased (its keys destroyed), or no key for it at all
            metrics.FRAMES_UNOPENED.inc()
            return False
        return await self._handle(record.tp, frame, record.offset)

    def backpressure(self) -> bool:
        # a worker far behind holds two settling windows a meeting, not the backlog
        return self._settling_behind()

    async def poll(self) -> bool:
        for feed in self._feeds:
            if feed.done():
                feed.result()  # a feed that failed: exit rather than go stale
        if self._settling_behind():
            await self._settle_next(force=True)
            return True
        await self._flush_idle()
        # then one settling window (one a meeting every ~30 s of audio), then one interim, for
        # the meeting whose words have waited longest
        more_settles = await self._settle_next()
        return await self._interim_next() or more_settles

    def commit_point(self, tp: TopicPartition, processed: int) -> tuple[int, str] | None:
        part = self.partitions.get(tp)
        if part is None:
            return None
        part.next_offset = processed
        return part.checkpoint()

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            part = self.partitions.pop(tp, None)
            for state in part.sessions.values() if part is not None else ():
                _forget_figures(state)  # another worker reports them now

    # -- per message ---------------------------------------------------------------

    async def _handle(self, tp: TopicPartition, frame: AudioFrame, offset: int) -> bool:
        with log_context(meeting_id=frame.meeting_id, tenant_id=frame.tenant_id):
            part = self.partitions.setdefault(tp, PartitionState())
            state = part.sessions.get(frame.session_id)
            if state is None:
                state = self._new_session(part, frame, offset)
            state.last_offset = offset
            state.last_seen = time.monotonic()
            await self._check_config(state)
            emitted = await self._accept(state, frame, offset)
            part.next_offset = offset + 1
            return emitted

    def _new_session(self, part: PartitionState, frame: AudioFrame, offset: int) -> SessionState:
        ghost = part.ghosts.pop(frame.session_id, None)
        tracker = StreamTracker(zero_alert_s=self.settings.zero_alert_s)
        if ghost is not None:
            tracker.next_seq = ghost.retain_from
        # a session keeps the live policy and the settling it began under (its checkpoint says
        # which): a worker deployed otherwise carries it on as it began, so no word is lost or
        # said twice, and no settled run starts mid-meeting (the default transcript would drop
        # the live words before it)
        agree = self.agree if ghost is None else ghost.agree_previous is not None
        settled = ghost.settle_seq != UNSETTLED if ghost is not None and ghost.settling_known \
            else self.settings.settle
        state = SessionState(
            ref=SessionRef(frame.tenant_id, frame.meeting_id, frame.session_id,
                           frame.session_started_at_ns),
            tracker=tracker, buffer=ChunkBuffer(self.policy), last_offset=offset,
            context=ContextTail(max_s=self.settings.context_s),
            settle=SettleBuffer(self.settings.settle_window_s,
                                skip=ghost.settle_skip if ghost is not None else 0)
            if settled or agree else None,  # agree decodes the settling windows
            live_from=ghost.next_seq if ghost is not None else 0,
            settle_from=ghost.settle_from if ghost is not None else 0,
            agreement=self._agreement(ghost) if agree else None,
        )
        part.sessions[frame.session_id] = state
        return state

    def _agreement(self, ghost: Watermark | None) -> Agreement:
        """A session's agreement state, as the checkpoint left it."""
        agreement = Agreement(agree_from_s=self.settings.agree_from_s)
        if ghost is not None:
            agreement.next_seq = ghost.next_seq
            agreement.previous_seq = NO_DECODE if ghost.agree_previous is None else ghost.agree_previous
            if ghost.final_until_ms >= 0:
                agreement.final_until_s = ghost.final_until_ms / 1000
        return agreement

    async def _accept(self, state: SessionState, frame: AudioFrame, offset: int) -> bool:
        check = state.tracker.check(frame)
        for issue in check.issues:
            await self._health(state.ref, issue.kind, issue.seq_first, issue.seq_last, issue.detail)
        if check.verdict is Verdict.SKIP:
            return False
        emitted = False
        if check.discontinuity:  # audio on both sides of a gap is not one stream
            if (chunk := state.buffer.flush()) is not None:
                emitted |= await self._transcribe(state, chunk)
            state.context.clear()
        if check.verdict is Verdict.ACCEPT:
            metrics.FRAMES_IN.inc()
            buffered = BufferedFrame(
                seq=frame.seq, offset=offset, capture_time_ns=frame.capture_time_ns,
                payload=frame.payload, duration_s=frame.duration_s,
                speech=speech_probability(frame.payload), zero=is_digital_zero(frame.payload),
            )
            if state.settle is not None and frame.seq >= state.settle_from:
                state.settle.push(buffered)
            elif state.settle is not None:  # settled before a restart: the VAD's lead again
                state.settle.lead.extend([buffered])
            if state.agreement is not None:
                if frame.seq >= state.settle_from and not frame.last:  # the last: decoded in full
                    emitted |= await self._agree_step(state, buffered)
            elif frame.seq < state.live_from:
                state.context.extend([buffered])  # finalized before a restart: context again
            elif (chunk := state.buffer.push(buffered)) is not None:
                emitted |= await self._transcribe(state, chunk)
        if frame.last and state.agreement is not None:
            state.done = True
            emitted |= await self._agree_rest(state, frame.seq)
            await self._produce([session_closed(state.ref, seq_last=frame.seq, model=self.model.name)])
            _forget_figures(state)
            return True
        if frame.last:
            state.done = True
            if (chunk := state.buffer.flush()) is not None:
                emitted |= await self._transcribe(state, chunk)
            state.context.clear()
            if state.settle is not None:
                state.settle.ended = True  # the window with the last frame keeps all it decodes
            await self._produce([session_closed(state.ref, seq_last=frame.seq, model=self.model.name)])
            _forget_figures(state)
            emitted = True
        return emitted

    async def _flush_idle(self) -> bool:
        emitted = False
        now = time.monotonic()
        for tp, part in self.partitions.items():
            # frames waiting unread mean this worker was busy decoding, not that the source
            # stalled: a flush then would cut chunks and windows by how fast this machine is;
            # a partition whose fetches go unanswered (its leader down, an election) says
            # nothing of its source either
            waiting = self._unread(tp) > 0 or not self._answered(tp)
            for state in part.sessions.values():
                if waiting:
                    state.last_seen = now
                idle_s = now - state.last_seen
                if state.agreement is not None:
                    if idle_s > self.settings.idle_flush_s and state.settle is not None \
                            and state.settle.frames and not state.done:
                        emitted |= await self._agree_rest(state, state.tracker.next_seq - 1)
                    continue
                if idle_s > self.settings.idle_flush_s and (chunk := state.buffer.flush()) is not None:
                    emitted |= await self._transcribe(state, chunk)
                    state.context.clear()  # a stalled source must not pin the commit point
                if idle_s > self.settings.settle_idle_flush_s and state.settle is not None:
                    state.settle.ended = True
        return emitted

    @staticmethod
    def _logged(state: SessionState) -> contextlib.AbstractContextManager[None]:
        """Lines logged while working on `state` name its meeting and tenant."""
        return log_context(meeting_id=state.ref.meeting_id, tenant_id=state.ref.tenant_id)

    def _options(self, state: SessionState, *, interim: bool = False) -> DecodeOptions:
        """The meeting's settings now: fixed language and task, else none for finals (each
        chunk's own is detected) and the last one detected for interims."""
        config = self.configs.get(state.ref.meeting_id)
        base = self.interim_options if interim else self.options
        language = (self._usable(config.language) or base.language
                    or (state.detected_language if interim else None))
        return replace(base, language=language, task=config.task)

    def _usable(self, language: str | None) -> str | None:
        """A meeting's language if this model can transcribe it; else None (detect it)."""
        if language is None or language_problem(language, self.model.name) is not None:
            return None
        return language

    async def _check_config(self, state: SessionState) -> None:
        """A language the model cannot take is the meeting's error, said once, never a crash:
        the meeting's language is detected instead."""
        language = self.configs.get(state.ref.meeting_id).language
        if language is None or (state.ref.meeting_id, language) in self._rejected:
            return
        problem = language_problem(language, self.model.name)
        if problem is None:
            return
        self._rejected.add((state.ref.meeting_id, language))
        log.warning("meeting %s: %s; detecting the language instead", state.ref.meeting_id, problem)
        await self._live_error(state, f"{problem}; the language is detected instead")

    async def _live_error(self, state: SessionState, error: str) -> None:
        """The meeting's live run says what went wrong (its run listing shows it)."""
        event = RunProgress(
            tenant_id=state.ref.tenant_id, meeting_id=state.ref.meeting_id, run_id=LIVE_RUN, state="live",
            model=self.model.name, language=None, task=self.configs.get(state.ref.meeting_id).task,
            error=error,
        )
        await self.producer.send_and_wait(self.topics.lifecycle, self._lifecycle.encode(event),
                                          key=key_of(event))

    def _behind(self) -> int:
        """Frames on this worker's partitions not read yet."""
        return sum(self._unread(tp) for tp in self.partitions)

    def _unread(self, tp: TopicPartition) -> int:
        # the core's count: a record it parked in the DLQ is read too, though no frame came of it
        return self.core.unread(tp) if self.core is not None else 0

    def _answered(self, tp: TopicPartition) -> bool:
        return self.core is None or self.core.answered_within(tp, FETCH_ANSWERED_S)

    async def _interim_next(self) -> bool:
        """One interim decode when the worker has caught up; True if more are due.

        Finals never wait for interims beyond one model call: interims run only between
        batches, one at a time, and only while at most interim_max_lag_frames wait unread and
        the model is not kept busy by finals.
        """
        if self._behind() > self.settings.interim_max_lag_frames:
            return False
        if self.busy.busy(time.monotonic()) >= self.settings.interim_max_busy:
            return False  # finals are keeping the model busy: they come first
        sessions = (s for part in self.partitions.values() for s in part.sessions.values())
        due = interims_due(sessions, self.settings.interim_interval_s)
        if not due:
            return False
        await self._interim(due[0])
        return len(due) > 1

    def _erased(self, state: SessionState) -> bool:
        meeting = state.ref.meeting_id
        return self.configs.get(meeting).erased or self.keys.erased(meeting)

    async def _interim(self, state: SessionState) -> bool:
        """Words on screen before the chunk ends: the open chunk re-decoded as it grows."""
        with self._logged(state):
            state.interim_heard_s = state.buffer.seconds
            chunk = Chunk(tuple(state.buffer.frames))
            if not self.policy.worth_decoding(chunk) or self._erased(state):
                return False
            audio = chunk.audio()
            options = self._options(state, interim=True)
            try:
                result = await self._decode(audio, options, kind="interim")
            except Exception:  # an interim is only a preview: the chunk's final decode decides
                log.warning("meeting %s: interim decode failed", state.ref.meeting_id, exc_info=True)
                metrics.DECODE_FAILURES.labels("interim").inc()
                return False
            event = interim_event(state.ref, chunk, result, model=self.model.name, options=options)
            if event is None:
                return False
            await self._produce([event])
            return True

    async def _transcribe(self, state: SessionState, chunk: Chunk) -> bool:
        with self._logged(state):
            state.interim_heard_s = state.buffer.seconds  # what is left open starts a new chunk
            context, context_s = state.context.pcm(), state.context.seconds
            state.context.extend(chunk.frames)  # the next chunk's left context
            if not self.policy.worth_decoding(chunk) or self._erased(state):
                return False  # nobody spoke: zeros, silence, hum and noise never reach the model
            t0 = time.monotonic()
            decoded = await self._final_decode(state, chunk, context, context_s)
            if decoded is None:  # reported; the chunk's interim still retires
                state.context.clear()  # audio the model cannot take is no chunk's context
                await self._produce([retirement(state.ref, chunk, model=self.model.name)])
                return True
            result, options, detected = decoded
            events = to_events(state.ref, chunk, result, model=self.model.name, options=options,
                               detected=detected)
            took = time.monotonic() - t0
            metrics.REAL_TIME_FACTOR.labels(state.ref.meeting_id).set(took / max(chunk.seconds, EPS_S))
            log.info(
                "meeting %s seq %d-%d: %.1fs chunk in %.2fs -> %d segment(s)",
                state.ref.meeting_id, chunk.seq_first, chunk.seq_last, chunk.seconds, took, len(events),
            )
            # the finals are out: the chunk's interim (if any was sent, maybe before a restart) retires
            await self._produce([*events, retirement(state.ref, chunk, model=self.model.name)])
            return True

    async def _final_decode(self, state: SessionState, chunk: Chunk, context: bytes, context_s: float,
                            ) -> tuple[Transcription, DecodeOptions, float | None] | None:
        """A chunk's final decode (its language detected first when none is fixed), only the
        chunk's words kept. A fault that passes is ridden out by a second try of the same audio
        (the same text a restart would get); then the chunk is tried alone, as the audio before
        it may be what the model cannot take.

        None when every try fails and the model still decodes a probe the same way (the audio of
        the last final decoded here, or a tone before there is one): the chunk is audio the model
        cannot take. Those words are the meeting's loss, said in its live run, never the end of
        every meeting on the partition (a restart would fail on the chunk again, forever); its
        audio stays on the audio topic for a replay. When the probe fails too, the model is
        broken, not the audio: that raises, before anything is passed over, and a restart
        re-reads the chunk; so does a run of PASSED_OVER_LIMIT chunks passed over in a row.
        """
        error: Exception | None = None
        options = self._options(state)
        detection: tuple[str, float] | None = None
        tries = ((context, context_s), (context, context_s), (b"", 0.0)) if context else ((b"", 0.0),) * 2
        for left, left_s in tries:
            try:
                if options.language is None and detection is None:
                    # detected on the chunk alone (the context would pull it to the language
                    # before): 5 s of speech or more, where a word or a name never decides
                    detection = await self._detect(chunk.audio(), kind="final")
                tried = options if detection is None else replace(options, language=detection[0])
                audio = samples(left + chunk.pcm())
                result = await self._decode(audio, tried, kind="final")
            except Exception as exc:
                log.warning("meeting %s seq %d-%d: final decode failed (%.1f s of context)",
                            state.ref.meeting_id, chunk.seq_first, chunk.seq_last, left_s, exc_info=True)
                metrics.DECODE_FAILURES.labels("final").inc()
                error = exc
                continue
            self._last_good, self._passed_over = audio, 0
            if detection is not None and detection[1] >= DETECTION_CONFIDENCE:
                state.detected_language = detection[0]  # for the interims of the next chunk
            # the words before the cut were finalized with the chunk before: only the chunk's are kept
            return after_boundary(result, left_s), tried, None if detection is None else detection[1]
        assert error is not None
        await self._probe(options, error)
        self._passed_over += 1
        if self._passed_over >= PASSED_OVER_LIMIT:
            raise error
        start_s = (chunk.capture_time_ns - state.ref.session_started_at_ns) / 1e9
        await self._live_error(state, f"{start_s:.1f}-{start_s + chunk.seconds:.1f} s of session "
                                      f"{state.ref.session_id} (frames {chunk.seq_first}-{chunk.seq_last}) "
                                      f"not transcribed: {type(error).__name__}: {error}")
        return None

    async def _probe(self, options: DecodeOptions, error: Exception) -> None:
        """Raise `error` unless the model decodes known-good audio the way the chunk was tried
        (its options, and detection when the language was to be detected)."""
        good = self._last_good
        try:
            if options.language is None:
                await self._detect(PROBE_TONE if good is None else good, kind="probe")
            if good is None:
                await self._decode(PROBE_TONE, replace(options, language=options.language or "en",
                                                       vad_filter=False), kind="probe")
            else:
                await self._decode(good, replace(options, language=options.language or "en"), kind="probe")
        except Exception:
            log.exception("the model cannot decode a probe either: it is broken, not the audio")
            raise error from None

    def _settling_behind(self) -> bool:
        limit = 2 * self.settings.settle_window_s
        return any(s.settle is not None and s.settle.seconds > limit
                   for part in self.partitions.values() for s in part.sessions.values())

    async def _settle_next(self, *, force: bool = False) -> bool:
        """Settle the oldest due window of any meeting, when finals can spare the model (or when
        forced); True if more are due."""
        sessions = [s for part in self.partitions.values() for s in part.sessions.values()]
        # under live_policy=agree a window is decoded as soon as it is due, by _agree_step
        due = [s for s in sessions if s.settle is not None and s.settle.due() and s.agreement is None]
        now = time.monotonic()
        for s in sessions:
            if s not in due:
                s.settle_due_since = None
            elif s.settle_due_since is None:
                s.settle_due_since = now
        waited = max((now - s.settle_due_since for s in due if s.settle_due_since is not None),
                     default=0.0)
        ran = False
        if due and (force or waited >= self.settings.settle_max_wait_s
                    or self._finals_can_wait(sessions)):
            ran = True
            state = min(due, key=lambda s: s.settle.frames[0].capture_time_ns if s.settle else 0)
            try:
                await self._settle(state)
            except Exception as exc:  # settling is best effort: the live finals stay
                await self._settle_failed(state, exc)
        for state in sessions:  # a session's settled transcript is complete: say so once
            if state.done and state.settle is not None and not state.settle.frames \
                    and not state.settled_closed:
                state.settled_closed = True
                await self._produce([session_closed(state.ref, seq_last=state.tracker.next_seq - 1,
                                                    model=self.model.name, run_id=SETTLED_RUN)])
        # more to do now only if one ran (a deferred window waits for the next batch, not a spin)
        return ran and any(s.settle is not None and s.settle.due() for s in sessions)

    async def _settle_failed(self, state: SessionState, exc: Exception) -> None:
        """The session is not settled further: its live finals from the last settled point on
        stay in the default transcript, and the settled run says why."""
        with self._logged(state):
            log.exception("meeting %s: settling failed, its live finals stay", state.ref.meeting_id)
            state.settle = None
            event = RunProgress(
                tenant_id=state.ref.tenant_id, meeting_id=state.ref.meeting_id, run_id=SETTLED_RUN,
                state=RunState.FAILED, model=self.model.name, error=f"{type(exc).__name__}: {exc}",
            )
            await self.producer.send_and_wait(self.topics.lifecycle, self._lifecycle.encode(event),
                                              key=key_of(event))

    def _finals_can_wait(self, sessions: list[SessionState]) -> bool:
        """No open live chunk can be cut before a settling decode would be done: each is short
        of the chunk minimum by more than a settling decode takes (or its session ended)."""
        margin = self.settle_s.value
        return all(s.done or s.buffer.seconds + margin < self.policy.min_s for s in sessions)

    async def _settle(self, state: SessionState, seq: int | None = None, *, force: bool = False) -> None:
        """One window decoded as offline faster-whisper decodes a recording (beam search, no
        prompt): what it settles is a function of the window's frames alone. Under
        live_policy=agree (seq: the frame it is decoded at) it also finalizes the live words of
        what it settles that no agreement finalized."""
        with self._logged(state):
            assert state.settle is not None and state.settle.frames
            meeting, start_ns = state.ref.meeting_id, state.settle.frames[0].capture_time_ns
            window = state.settle.window(self.configs.next_change(meeting, start_ns), force=force)
            if window is None:
                return
            chunk = window.chunk
            if not self.policy.worth_decoding(chunk) or self._erased(state):
                state.settle.consume(window.seconds)
                return
            # the settings the meeting had when this audio was spoken, not the latest ones
            config = self.configs.at(meeting, start_ns)
            options = replace(self.options, language=self._usable(config.language) or self.options.language,
                              task=config.task)
            detected = None
            if options.language is None:  # detected: one language per window, cut where it changes
                window, options, detected = await self._one_language(window, options)
                chunk = window.chunk
            t0 = time.monotonic()
            result = await self._decode(window.audio(), options, kind="settle", lead=window.lead_samples)
            self.settle_s.add(time.monotonic() - t0)
            kept, settled_s = settled_part(result.segments, window)
            start_s = (chunk.capture_time_ns - state.ref.session_started_at_ns) / 1e9 + window.skip_s
            until = start_s + settled_s
            live: list[SegmentEvent] = []
            if state.agreement is not None and seq is not None:
                span = Span(chunk.seq_first, seq, chunk.capture_time_ns)
                live, _ = self._live_finals(state, span, window, result, plausible(kept, options),
                                            start_s, options, agreed=None)
            kept = delayed(kept, window.skip_s)  # times from the chunk's first frame, as for finals
            events = to_events(state.ref, chunk, replace(result, segments=kept), model=self.model.name,
                               options=options, run_id=SETTLED_RUN, settles_until_s=round(until, 3),
                               detected=detected) + live
            log.info("meeting %s settled seq %d-%d: %.1f of %.1fs audio in %.2fs -> %d segment(s)",
                     state.ref.meeting_id, chunk.seq_first, chunk.seq_last, settled_s, window.seconds,
                     time.monotonic() - t0, len(events))
            await self._produce(events)
            state.settle.consume(settled_s)

    # -- live_policy=agree (transcribe/agree.py) -----------------------------------

    async def _agree_step(self, state: SessionState, frame: BufferedFrame) -> bool:
        """A frame of the settling window: its full decode when due, else a growing decode at
        each stride point of the session's audio."""
        assert state.settle is not None and state.agreement is not None
        change = self.configs.next_change(state.ref.meeting_id, state.settle.frames[0].capture_time_ns)
        changed = change is not None and frame.capture_time_ns >= change
        if state.settle.due() or changed:  # a settings change ends the window where it applies
            return await self._agree_window(state, frame.seq, force=changed)
        if not stride_point(frame, state.ref.session_started_at_ns, self.settings.agree_stride_s):
            return False
        again = frame.seq < state.agreement.next_seq
        if again and frame.seq != state.agreement.previous_seq:
            return False  # decided before a restart; only the decode to agree with is redone
        return await self._grow(state, frame.seq, again=again)

    async def _agree_rest(self, state: SessionState, seq: int) -> bool:
        """The session ended (or its source stalled): what is left is decoded in full."""
        assert state.settle is not None
        state.settle.ended = True
        emitted = False
        while state.settle is not None and state.settle.due():
            emitted |= await self._agree_window(state, seq)
        return emitted

    async def _agree_window(self, state: SessionState, seq: int, *, force: bool = False) -> bool:
        assert state.settle is not None and state.agreement is not None
        first = state.settle.frames[0]
        await self._settle(state, seq, force=force)
        state.agreement.decoded(seq, None)
        # the window's interim ends: the next window's growing decodes show what is still open
        await self._produce([retirement(state.ref, Span(first.seq, seq, first.capture_time_ns),
                                        model=self.model.name)])
        return True

    async def _grow(self, state: SessionState, seq: int, *, again: bool) -> bool:
        """The window decoded as it stands: the words two decodes agree on are final, the rest
        is the interim."""
        with self._logged(state):
            settle, agreement = state.settle, state.agreement
            assert settle is not None and agreement is not None
            meeting, start_ns = state.ref.meeting_id, settle.frames[0].capture_time_ns
            # the settings the meeting had when the window's audio was spoken, up to a change
            # (the window's full decode ends there too); the language detected by each decode
            # where none is set (what an earlier window detected is not in the checkpoint)
            window = settle.window(self.configs.next_change(meeting, start_ns), force=True)
            assert window is not None
            chunk = window.chunk
            if not self.policy.worth_decoding(chunk) or self._erased(state):
                agreement.decoded(seq, [])
                return False
            config = self.configs.at(meeting, start_ns)
            options = replace(self.interim_options, task=config.task,
                              language=self._usable(config.language) or self.interim_options.language)
            result = await self._decode(window.audio(), options, kind="grow", lead=window.lead_samples)
            start_s = (chunk.capture_time_ns - state.ref.session_started_at_ns) / 1e9 + window.skip_s
            said = plausible(result.segments, options)
            words = heard(said, start_s)
            hold_s = self.settings.agree_hold_s
            held_until = start_s + window.seconds - hold_s if hold_s > 0 else float("-inf")
            agreed = 0 if again else agreement.agreed(words, window.seconds, held_until)
            events, rest = self._live_finals(state, Span(seq, seq, chunk.capture_time_ns), window,
                                             result, said, start_s, options, agreed=agreed)
            agreement.decoded(seq, words)
            span = Span(chunk.seq_first, seq, chunk.capture_time_ns)
            interim = interim_event(state.ref, span, replace(result, segments=delayed(rest, window.skip_s)),
                                    model=self.model.name, options=options)
            await self._produce([*events, interim or cleared_interim(state.ref, span, model=self.model.name)])
            return True

    def _live_finals(
        self, state: SessionState, span: Span, window: Window, result: Transcription,
        said: list[ModelSegment], start_s: float, options: DecodeOptions, *, agreed: int | None,
    ) -> tuple[list[SegmentEvent], list[ModelSegment]]:
        """Live finals of a decode (`said`: its plausible segments): its first `agreed` words not
        final yet (None: all of them), and the rest."""
        agreement = state.agreement
        assert agreement is not None
        pending = pending_segments(said, start_s, agreement.final_until_s)
        final, rest = (pending, []) if agreed is None else split_words(pending, agreed)
        final = not_before(final, agreement.final_until_s - start_s)
        agreement.finalized(final, start_s)
        if not final:
            return [], rest
        # a full decode names its finals from FULL_INDEX on: a growing decode at the same frame
        # (a session's last frame, a stalled source) names its own from 0
        first_index = FULL_INDEX if agreed is None else 0
        events = to_events(state.ref, span, replace(result, segments=delayed(final, window.skip_s)),
                           model=self.model.name, options=options, first_index=first_index)
        return events, rest

    async def _one_language(
        self, window: Window, options: DecodeOptions,
    ) -> tuple[Window, DecodeOptions, float]:
        """The window's language from each of its pause-cut parts; a window whose speakers
        change language ends where the new one starts (the rest is the next window)."""
        parts: list[Chunk] = []
        cutter = ChunkBuffer(self.policy)
        for f in window.chunk.frames:
            if (part := cutter.push(f)) is not None:
                parts.append(part)
        if (part := cutter.flush()) is not None:
            parts.append(part)
        detections = []
        for part in parts:
            detections.append(await self._detect(part.audio(), kind="settle"))
        split = language_split(detections)
        if split is not None:
            n = sum(len(p.frames) for p in parts[:split])
            window = replace(window, chunk=Chunk(window.chunk.frames[:n]), final=True)
        language, probability = detections[0]
        return window, replace(options, language=language), probability

    async def _detect(self, audio: np.ndarray, *, kind: str) -> tuple[str, float]:
        """A language detection off the event loop, timed like a decode."""
        start = time.monotonic()
        try:
            return await asyncio.to_thread(self.model.detect, audio)
        finally:
            self._timed(kind, start)

    async def _decode(
        self, audio: np.ndarray, options: DecodeOptions, *, kind: str, lead: int = 0,
    ) -> Transcription:
        """A model call off the event loop (heartbeats and fetches go on), timed for the meter."""
        start = time.monotonic()
        try:
            return await asyncio.to_thread(self.model.transcribe, audio, options, lead)
        finally:
            self._timed(kind, start)

    def _timed(self, kind: str, start: float) -> None:
        end = time.monotonic()
        self.busy.record(start, end)
        self.model_s[kind] += end - start
        metrics.MODEL_SECONDS.labels(kind).observe(end - start)

    async def _produce(self, events: list[SegmentEvent]) -> None:
        futures = [
            await self.producer.send(self.topics.segments, self._segments.encode(e), key=key_of(e))
            for e in events
        ]
        await asyncio.gather(*futures)  # durable downstream before any commit past these frames
        for e in events:
            metrics.SEGMENTS_OUT.labels(e.run_id, segment_kind(e)).inc()

    async def _health(
        self, ref: SessionRef, kind: HealthKind, seq_first: int, seq_last: int, detail: str
    ) -> None:
        event = AudioHealth(
            tenant_id=ref.tenant_id, meeting_id=ref.meeting_id, session_id=ref.session_id,
            kind=kind, seq_first=seq_first, seq_last=seq_last, detail=detail,
        )
        log.warning("audio health %s meeting %s: %s", kind, ref.meeting_id, detail)
        await self.producer.send_and_wait(
            self.topics.lifecycle, self._lifecycle.encode(event), key=key_of(event)
        )
