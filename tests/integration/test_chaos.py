"""The chaos suite's faults on the infrastructure (`pytest -m chaos` runs them with the process
faults of test_crash_recovery.py and the poison of test_dead_letters.py).

A broker and a Redis of this module's own, so they can be killed: a real recording is streamed in
real time, a fault injected mid-meeting, and the live and settled transcripts compared with an
undisturbed run of the same audio (tests/checker.py), with the services the fault left down and
the seconds until the live text moved again.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from stenograph.compose.local.processes import ManagedProcess
from tests.checker import Verdict, compare
from tests.support import DATA, LocalInfra, Pipeline, local_infra, make_pipeline, words

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

RECORDING = DATA / "ami_dev00.wav"


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalInfra, Pipeline]]:
    local = local_infra(tmp_path_factory.mktemp("chaos-infra"), redis_keeps_data=True)
    try:
        p = make_pipeline(local.infra, tmp_path_factory.mktemp("chaos-pipeline"))
        try:
            p.start()
            yield local, p
        finally:
            p.stop()
    finally:
        local.stop()


def _get(p: Pipeline, meeting: str, run: str | None = None) -> list[dict[str, object]]:
    try:
        r = httpx.get(f"{p.api_url}/transcripts/{meeting}", params={"run": run} if run else {},
                      headers={"X-API-Key": p.api_key or ""}, timeout=5)
    except httpx.HTTPError:
        return []
    return list(r.json()["segments"]) if r.status_code == 200 else []


def _text(segments: list[dict[str, object]]) -> list[str]:
    return words(" ".join(str(s["text"]) for s in segments))


@pytest.fixture(scope="module")
def reference(own: tuple[LocalInfra, Pipeline]) -> dict[str, list[str]]:
    _, p = own
    p.stream(RECORDING, "zoom/chaos-undisturbed")
    asyncio.run(p.idle())
    ref = {"settled": _text(_get(p, "zoom/chaos-undisturbed")),
           "live": _text(_get(p, "zoom/chaos-undisturbed", "live"))}
    assert len(ref["settled"]) > 20 and len(ref["live"]) > 20, ref
    return ref


async def _recovered(p: Pipeline, meeting: str, since: str, streamer: subprocess.Popen[str],
                     timeout: float = 120) -> float:
    """Seconds until the pipeline moved again: the meeting's live text (interims included)
    differs from `since` and holds as many segments, or, once the stream has ended, all it
    published is consumed."""
    started, held = time.monotonic(), len(json.loads(since))
    while time.monotonic() - started < timeout:
        now = _get(p, meeting, "live")  # an empty or shorter answer: the read model not back yet
        if len(now) >= held and json.dumps(now) != since:
            return time.monotonic() - started
        if streamer.poll() is not None:
            await p.idle(timeout=timeout)
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"{meeting}: nothing moved {timeout:.0f} s after the fault")


async def _under_fault(local: LocalInfra, p: Pipeline, meeting: str, fault: str,
                       inject: Callable[[], Awaitable[None]], times: int,
                       reference: dict[str, list[str]], report: list[Verdict]) -> None:
    """Stream the recording live; from its first final on, `inject` the fault `times` times, each
    once the live text moved after the last; then compare with the undisturbed run."""
    log = p.state_dir / f"{meeting.replace('/', '-')}.stream.log"
    streamer = p.stream_live(RECORDING, meeting, log=log)
    recoveries = []
    try:
        for _ in range(400):
            if _get(p, meeting, "live"):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"{meeting}: no live text to fault")
        for _ in range(times):
            before = json.dumps(_get(p, meeting, "live"))
            await inject()
            recoveries.append(await _recovered(p, meeting, before, streamer))
        streamer.wait(timeout=180)
        assert streamer.returncode == 0, log.read_text()[-3000:]
    finally:
        streamer.kill()
    await p.idle(timeout=180)
    down = [name for name, proc in [*p.procs.items(), ("kafka", local.kafka), ("redis", local.redis)]
            if proc.pid() is None]
    verdicts = []
    for run, segments in (("live", _get(p, meeting, "live")), ("settled", _get(p, meeting))):
        verdicts.append(compare(fault, run, _text(segments), reference[run],
                                [str(s["segment_id"]) for s in segments], down, max(recoveries)))
    report.extend(verdicts)
    assert all(v.ok for v in verdicts), [v.line() for v in verdicts]


async def _kill_and_restart(proc: ManagedProcess, ready_s: float,
                            while_down: Callable[[], None] = lambda: None) -> None:
    """SIGKILL `proc`, wait until it is gone, do `while_down`, start it again and wait for it."""
    pid = proc.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if proc.pid() is None:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"{proc.name}: still there 10 s after its SIGKILL")
    await asyncio.sleep(1)
    while_down()
    proc.start()
    proc.wait_ready(ready_s)


async def test_the_broker_sigkilled_three_times_in_one_meeting(
        own: tuple[LocalInfra, Pipeline], reference: dict[str, list[str]],
        chaos_report: list[Verdict]) -> None:
    local, p = own

    async def kill_broker() -> None:
        await _kill_and_restart(local.kafka, 90)

    await _under_fault(local, p, "zoom/chaos-broker", "broker SIGKILL (x3, restarted)", kill_broker,
                       3, reference, chaos_report)


async def test_redis_sigkilled_and_restarted_mid_meeting(
        own: tuple[LocalInfra, Pipeline], reference: dict[str, list[str]],
        chaos_report: list[Verdict]) -> None:
    local, p = own

    async def kill_redis() -> None:
        await _kill_and_restart(local.redis, 30)

    await _under_fault(local, p, "zoom/chaos-redis", "Redis SIGKILL, restarted with its data",
                       kill_redis, 1, reference, chaos_report)


async def test_redis_sigkilled_and_restarted_with_its_data_lost(
        own: tuple[LocalInfra, Pipeline], reference: dict[str, list[str]],
        chaos_report: list[Verdict]) -> None:
    """The aggregator finds its epoch marker gone and rebuilds the read model from Kafka."""
    local, p = own

    def empty_data_dir() -> None:
        shutil.rmtree(local.redis_dir)
        local.redis_dir.mkdir()

    async def wipe_redis() -> None:
        await _kill_and_restart(local.redis, 30, while_down=empty_data_dir)

    await _under_fault(local, p, "zoom/chaos-redis-lost", "Redis SIGKILL, restarted empty",
                       wipe_redis, 1, reference, chaos_report)
