"""The compose stack on the real Docker engine, from the images `make images` built.

The stack runs under its own project name, network and loopback ports; recordings are streamed
from a container on that network, addressing Kafka by service name, and read back from the
host through the API. Nothing else is ever a target.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jiwer
import numpy as np
import pytest

from tests.compose.stack import Stack, pid_of, restarts, running, words_of
from tests.support import DATA, has_jfk_sentence, normalize, write_wav

pytestmark = pytest.mark.compose


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running("stenographtest", files=("tests/compose/mockmeet.yml",)) as s:
        yield s


@pytest.fixture(scope="module")
def jfk(stack: Stack) -> dict[str, object]:
    """jfk.flac streamed in real time from a container by service name, read from the host."""
    streamer = stack.stream(DATA / "jfk.flac", "google_meet/compose-jfk")
    _, err = streamer.communicate(timeout=120)
    assert streamer.returncode == 0, err
    return stack.settled("google_meet/compose-jfk")


def test_a_recording_streamed_by_service_name_is_read_from_the_host(jfk: dict[str, object]) -> None:
    hypothesis = normalize(" ".join(str(s["text"]) for s in jfk["segments"]))  # type: ignore[attr-defined]
    error = jiwer.wer(normalize((DATA / "jfk.txt").read_text()), hypothesis)
    assert error <= 0.15, (error, hypothesis)


def test_the_transcriber_killed_is_restarted_by_its_policy_and_loses_no_words(
        stack: Stack, jfk: dict[str, object]) -> None:
    undisturbed_live = stack.transcript("google_meet/compose-jfk", "live")
    transcriber = stack.container("transcriber")
    before = restarts(transcriber)
    streamer = stack.stream(DATA / "jfk.flac", "google_meet/compose-killed")
    try:
        for _ in range(300):  # a first final is in: the worker is mid-meeting
            if (body := stack.transcript("google_meet/compose-killed", "live")) and body["segments"]:
                break
            time.sleep(0.1)
        else:
            pytest.fail("no final segment before the kill")
        # SIGKILL of the service's own process from the host: a crash, not `docker stop`
        os.kill(pid_of(transcriber), signal.SIGKILL)
        _, err = streamer.communicate(timeout=180)
        assert streamer.returncode == 0, err
    finally:
        streamer.kill()
    disturbed = stack.settled("google_meet/compose-killed")
    assert restarts(transcriber) == before + 1  # the restart policy brought it back
    assert words_of(disturbed) == words_of(jfk)
    assert words_of(stack.transcript("google_meet/compose-killed", "live")) == words_of(undisturbed_live)
    ids = [s["segment_id"] for s in disturbed["segments"]]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids))


def test_a_stream_of_zeros_raises_its_alarm_and_the_meeting_says_so(stack: Stack, tmp_path: Path) -> None:
    zeros = write_wav(tmp_path / "zeros.wav", np.zeros(12 * 16000))
    tmp_path.chmod(0o755)  # the container's user reads it
    zeros.chmod(0o644)
    started = time.monotonic()
    streamer = stack.stream(zeros, "zoom/compose-zeros")
    try:
        for _ in range(300):
            body = stack.transcript("zoom/compose-zeros")
            if body and "silent_stream" in body["audio_health"]:  # type: ignore[operator]
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"no silent_stream alarm: {stack.transcript('zoom/compose-zeros')}")
        alarm_s = time.monotonic() - started
        # the alarm is raised while the stream still runs (12 s of zeros, alert after 5 s)
        assert streamer.poll() is None, f"alarm only after the stream ended ({alarm_s:.1f} s)"
        streamer.communicate(timeout=60)
    finally:
        streamer.kill()
    assert body["segments"] == []


def test_every_service_serves_metrics_on_the_network(stack: Stack) -> None:
    """Each worker's metrics port answers by service name, and the API's /metrics from the host."""
    script = ("import sys, urllib.request\n"
              "for name in sys.argv[1:]:\n"
              "    text = urllib.request.urlopen(f'http://{name}:9100/metrics', timeout=5).read()\n"
              "    print(name, len(text))\n")
    workers = ["transcriber", "replayer", "aggregator", "webhooks", "bot-manager", "gateway"]
    out = stack.python(script, *workers).split("\n")
    assert sorted(line.split()[0] for line in out if line) == sorted(workers)
    api = httpx.get(f"{stack.api}/metrics", timeout=10).text
    assert "stenograph_http_request_seconds_bucket" in api
    agg = stack.python("import urllib.request; print(urllib.request.urlopen("
                       "'http://aggregator:9100/metrics', timeout=5).read().decode())")
    # the earlier tests' finals moved the final-text latency histogram
    count = [line for line in agg.splitlines()
             if line.startswith('stenograph_final_text_latency_seconds_count{run="live"}')]
    assert count and float(count[0].split()[-1]) > 0, count


def test_a_bot_container_joins_the_mock_meeting_on_the_compose_network(stack: Stack) -> None:
    """POST /bots from the host; the bot manager's Chromium joins the mock Meet page served by the
    mockmeet container (tests/compose/scenarios.json: JFK speaks from 2 s on) and its words come
    back through the API."""
    native, key = "cmp-jfkx-bot", {"X-API-Key": stack.key}
    r = httpx.post(f"{stack.api}/bots", headers=key, timeout=10, json={
        "platform": "google_meet", "native_meeting_id": native, "bot_name": "Stenograph Notes"})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 120
    while (status := httpx.get(f"{stack.api}/meetings/google_meet/{native}", headers=key,
                               timeout=10).json().get("status")) != "active":
        assert status not in ("failed", "completed") and time.monotonic() < deadline, status
        time.sleep(0.5)
    time.sleep(16)  # JFK's 11 s, from 2 s after the bot is in
    r = httpx.delete(f"{stack.api}/bots/google_meet/{native}", headers=key, timeout=10)
    assert r.status_code == 202, r.text
    body = stack.settled(f"google_meet/{native}")
    assert has_jfk_sentence(words_of(body)), words_of(body)
