"""SIGKILL the transcriber mid-stream: after a restart nothing is lost and nothing duplicated.

The chaos suite's process faults: each test files its live and settled verdicts (tests/checker.py)
for the suite's table, with the seconds from the restart (or the kill, where no process is
restarted) until the meeting's live text changed again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from tests.checker import Verdict, compare
from tests.support import DATA, Pipeline, words

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


async def _segments(p: Pipeline, meeting: str, run: str | None = None) -> list[dict[str, object]]:
    """The default transcript (settled text, then the live tail), or one run's."""
    async with p.client() as c:
        r = await c.get(f"/transcripts/{meeting}", params={"run": run} if run else {})
    return list(r.json()["segments"]) if r.status_code == 200 else []


def _text(segments: list[dict[str, object]]) -> list[str]:
    return words(" ".join(str(s["text"]) for s in segments))


def assert_nothing_lost_or_duplicated(
    got: list[dict[str, object]], reference: list[dict[str, object]]
) -> None:
    """The same words as the undisturbed run, and no segment twice."""
    assert _text(got) == _text(reference)
    ids = [s["segment_id"] for s in got]
    assert len(ids) == len(set(ids))


async def _moved(p: Pipeline, meeting: str, before: list[dict[str, object]], since: float,
                 timeout: float = 120) -> float:
    """Seconds from `since` (a monotonic time) until the meeting's live text, interims included,
    differs from `before` and holds as many segments (a shorter answer: not back yet)."""
    while time.monotonic() - since < timeout:
        now = await _segments(p, meeting, "live")
        if len(now) >= len(before) and now != before:
            return time.monotonic() - since
        await asyncio.sleep(0.2)
    raise AssertionError(f"{meeting}: the live text did not change {timeout:.0f} s after the fault")


async def report(p: Pipeline, report_to: list[Verdict], fault: str, meeting: str,
                 reference: list[dict[str, object]], live_reference: list[dict[str, object]],
                 recovery_s: float | None, notes: Sequence[str] = ()) -> None:
    """File the fault's live and settled verdicts for the chaos table (before the test's own
    assertions, so a failure shows there too); the pipeline's processes must all be up."""
    down = [name for name, proc in p.procs.items() if proc.pid() is None]
    live, settled = await _segments(p, meeting, "live"), await _segments(p, meeting)
    verdicts = [compare(fault, "live", _text(live), _text(live_reference),
                        [str(s["segment_id"]) for s in live], down, recovery_s),
                compare(fault, "settled", _text(settled), _text(reference),
                        [str(s["segment_id"]) for s in settled], down, recovery_s, notes)]
    report_to.extend(verdicts)
    assert not down, [v.line() for v in verdicts]


async def kill_9_mid_meeting(p: Pipeline, service: str, recording: Path, meeting: str,
                             ready: Callable[[], Awaitable[bool]]) -> float:
    """Stream `recording` in real time; once `ready()`, SIGKILL `service`, start it again, and
    let the stream finish. Returns the seconds from the restart until the live text moved."""
    log = p.state_dir / f"{meeting.replace('/', '-')}.stream.log"
    streamer = p.stream_live(recording, meeting, log=log)
    try:
        for _ in range(400):
            if await ready():
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"{meeting}: not ready for the kill")
        pid = p.procs[service].pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(1.0)
        before, restarted = await _segments(p, meeting, "live"), time.monotonic()
        p.start(service)
        recovery = await _moved(p, meeting, before, restarted)
        streamer.wait(timeout=120)
        assert streamer.returncode == 0, log.read_text()[-3000:]
    finally:
        streamer.kill()
    return recovery


async def test_kill_9_mid_stream_loses_and_duplicates_nothing(own_pipeline: Pipeline,
                                                              chaos_report: list[Verdict]) -> None:
    p = own_pipeline
    p.start()
    recording = DATA / "ami_dev00.wav"

    p.stream(recording, "google_meet/undisturbed")
    await p.idle()
    reference = await _segments(p, "google_meet/undisturbed")
    live_reference = await _segments(p, "google_meet/undisturbed", "live")
    assert len(reference) >= 3 and len(live_reference) >= 3, (reference, live_reference)

    async def mid_meeting() -> bool:  # the first final segment is in: the worker is mid-meeting
        return bool(await _segments(p, "google_meet/disturbed"))

    recovery = await kill_9_mid_meeting(p, "transcriber", recording, "google_meet/disturbed", mid_meeting)
    await p.idle()
    await report(p, chaos_report, "transcriber SIGKILL, restarted", "google_meet/disturbed", reference,
                 live_reference, recovery, ["recovered: from the restart until the live text changed"])
    disturbed = await _segments(p, "google_meet/disturbed")
    assert_nothing_lost_or_duplicated(disturbed, reference)  # settled
    assert_nothing_lost_or_duplicated(await _segments(p, "google_meet/disturbed", "live"), live_reference)


async def test_kill_9_of_the_aggregator_loses_nothing_and_leaves_no_interim(
        own_pipeline: Pipeline, chaos_report: list[Verdict]) -> None:
    """The aggregator's tables come back from their changelogs: after a kill -9 and a restart the
    transcript is the undisturbed one, and no interim is left open that its final retired."""
    p = own_pipeline
    p.start()
    recording = DATA / "ami_dev00.wav"
    p.stream(recording, "zoom/aggregator-reference")
    await p.idle()
    reference = await _segments(p, "zoom/aggregator-reference")
    live_reference = await _segments(p, "zoom/aggregator-reference", "live")

    async def interim_open() -> bool:  # its revision is in the aggregator's table
        return any(not s["completed"] for s in await _segments(p, "zoom/aggregator-killed", "live"))

    recovery = await kill_9_mid_meeting(p, "aggregator", recording, "zoom/aggregator-killed", interim_open)
    await p.idle(timeout=90)
    await report(p, chaos_report, "aggregator SIGKILL, restarted", "zoom/aggregator-killed", reference,
                 live_reference, recovery, ["recovered: from the restart until the live text changed"])
    live = await _segments(p, "zoom/aggregator-killed", "live")
    assert all(s["completed"] for s in live), [s for s in live if not s["completed"]]
    assert_nothing_lost_or_duplicated(live, live_reference)
    assert_nothing_lost_or_duplicated(await _segments(p, "zoom/aggregator-killed"), reference)


async def test_a_second_worker_takes_over_a_killed_one(own_pipeline: Pipeline,
                                                       chaos_report: list[Verdict]) -> None:
    """Two transcribers share the group; the one holding the meeting dies; the other finishes it."""
    p = own_pipeline
    p.start()
    recording = DATA / "ami_dev00.wav"
    p.stream(recording, "zoom/takeover-reference")
    await p.idle()
    reference = await _segments(p, "zoom/takeover-reference")
    live_reference = await _segments(p, "zoom/takeover-reference", "live")

    p.start("transcriber-b", command="transcriber")  # joins the group: partitions are split
    log = p.state_dir / "zoom-takeover.stream.log"
    streamer = p.stream_live(recording, "zoom/takeover", log=log)
    try:
        for _ in range(400):  # a final is in: its worker logged the meeting
            if any(s["completed"] for s in await _segments(p, "zoom/takeover")):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("no segment before the kill")
        meeting_id = (await p.transcript("zoom/takeover")).json()["id"]
        owner = next(name for name in ("transcriber", "transcriber-b")
                     if meeting_id in p.procs[name].log_file.read_text())
        survivor = "transcriber-b" if owner == "transcriber" else "transcriber"
        pid = p.procs[owner].pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        p.procs.pop(owner)
        p.procs["transcriber"] = p.procs.pop(survivor)  # idle() follows the group either way
        await asyncio.sleep(1.0)  # what the killed worker published is in the read model
        recovery = await _moved(p, "zoom/takeover", await _segments(p, "zoom/takeover", "live"), killed)
        streamer.wait(timeout=120)
        assert streamer.returncode == 0, log.read_text()[-3000:]
    finally:
        streamer.kill()
    await p.idle()
    await report(p, chaos_report, "transcriber SIGKILL, another worker takes over", "zoom/takeover",
                 reference, live_reference, recovery,
                 ["recovered: from the kill until the live text changed (the survivor takes the "
                  "partition; the killed worker stays down by design, not counted)"])
    taken_over = await _segments(p, "zoom/takeover")
    assert_nothing_lost_or_duplicated(taken_over, reference)  # settled
    assert_nothing_lost_or_duplicated(await _segments(p, "zoom/takeover", "live"), live_reference)


class FailingModel:
    """The real model, whose decodes raise from the `fail_at`-th on: broken (a lost GPU, a bug), it
    fails the worker's probe too. (A fault that passes is tried again in place, and a chunk the
    model cannot take is passed over: tests/unit/test_decode_failures.py.)"""

    def __init__(self, model: object, fail_at: int) -> None:
        self.model = model
        self.name = model.name  # type: ignore[attr-defined]
        self.english_only = True
        self.calls = 0
        self.fail_at = fail_at

    def transcribe(self, audio: object, options: object, lead: int = 0) -> object:
        self.calls += 1
        if self.calls >= self.fail_at:
            raise RuntimeError("the model broke mid-chunk")
        return self.model.transcribe(audio, options, lead)  # type: ignore[attr-defined]

    def detect(self, audio: object) -> tuple[str, float]:
        return self.model.detect(audio)  # type: ignore[attr-defined,no-any-return]


async def test_a_model_error_mid_chunk_loses_and_duplicates_nothing(own_pipeline: Pipeline,
                                                                    chaos_report: list[Verdict]) -> None:
    """The worker whose model raises stops without committing past the chunk it was decoding
    (it once committed on the way out, with that chunk's frames gone); the next one redoes it."""
    from stenograph.transcribe import FasterWhisperTranscriber, TranscriberSettings, TranscriberWorker
    from tests.support import wait_consumed

    p = own_pipeline
    p.start("aggregator", "api")
    settings = TranscriberSettings(kafka_bootstrap_servers=p.infra.bootstrap, redis_url=p.infra.redis_url,
                                   topic_prefix=p.prefix, group_id=p.transcriber_group, idle_flush_s=5)
    model = FasterWhisperTranscriber(settings.model)
    recording = DATA / "ami_dev00.wav"

    async def transcribe_all(worker: TranscriberWorker) -> None:
        stop = asyncio.Event()
        run = asyncio.create_task(worker.run(stop))
        done = asyncio.create_task(wait_consumed(p.infra.bootstrap, p.transcriber_group,
                                                 p.topic("meetings.audio"), timeout=240))
        await asyncio.wait([run, done], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await run
        await done

    p.stream(recording, "google_meet/model-undisturbed")
    await transcribe_all(TranscriberWorker(settings, model))
    await p.idle()
    reference = await _segments(p, "google_meet/model-undisturbed")
    assert len(reference) >= 3, reference

    p.stream(recording, "google_meet/model-error")
    failing = FailingModel(model, fail_at=3)
    with pytest.raises(RuntimeError, match="mid-chunk"):
        await asyncio.wait_for(TranscriberWorker(settings, failing).run(asyncio.Event()), 240)  # type: ignore[arg-type]
    await asyncio.sleep(1.0)  # the supervisor's first backoff; what the failed worker published is applied
    before, restarted = await _segments(p, "google_meet/model-error", "live"), time.monotonic()
    moved = asyncio.create_task(_moved(p, "google_meet/model-error", before, restarted))
    try:
        await transcribe_all(TranscriberWorker(settings, model))
        recovery = await moved
    finally:
        moved.cancel()
    await p.idle()
    await report(p, chaos_report, "model raises mid-chunk, next worker redoes it", "google_meet/model-error",
                 reference, await _segments(p, "google_meet/model-undisturbed", "live"), recovery,
                 ["recovered: from the next worker's start until the live text changed (the audio "
                  "was all published before: no live stream)"])
    assert_nothing_lost_or_duplicated(await _segments(p, "google_meet/model-error"), reference)
    assert_nothing_lost_or_duplicated(await _segments(p, "google_meet/model-error", "live"),
                                      await _segments(p, "google_meet/model-undisturbed", "live"))
