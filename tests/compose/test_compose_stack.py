"""The compose stack on the real Docker engine, from the images `make images` built.

The stack runs under its own project name, network and loopback ports; recordings are streamed
from a container on that network, addressing Kafka by service name, and read back from the
host through the API. Nothing else is ever a target.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jiwer
import numpy as np
import pytest

from stenograph.compose.local.processes import free_port
from tests.support import DATA, words

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ("stenograph:local", "stenograph/kafka:local", "stenograph/redis:local")


def normalize(text: str) -> str:
    return " ".join(words(text))


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def _docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr.strip()[-800:]}")
    return proc


def _engine_and_images() -> str | None:
    """Why the compose tests cannot run here, or None."""
    if not shutil.which("docker"):
        return "no Docker engine installed (`make images` installs it)"
    if _docker("info", timeout=20, check=False).returncode != 0:
        return "the Docker engine does not answer (compose/engine.sh starts it)"
    missing = [i for i in IMAGES if _docker("image", "inspect", i, check=False).returncode != 0]
    return f"images not built (`make images`): {', '.join(missing)}" if missing else None


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    api: str
    key: str

    @property
    def network(self) -> str:
        return f"{self.project}_default"

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "compose/compose.sh", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def container(self, service: str) -> str:
        out = self.compose("ps", "-q", service).stdout.split()
        assert len(out) == 1, (service, out)
        return out[0]

    def stream(self, recording: Path, meeting: str, realtime: bool = True) -> subprocess.Popen[str]:
        """`stenograph stream` in its own container on the stack's network (Kafka by name)."""
        return subprocess.Popen(
            ["docker", "run", "--rm", "--network", self.network,
             "-e", "KAFKA_BOOTSTRAP_SERVERS=kafka:9092",
             "-v", f"{recording.parent}:/recordings:ro", "stenograph:local", "stream",
             f"/recordings/{recording.name}", "--meeting", meeting,
             "--realtime" if realtime else "--no-realtime"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def transcript(self, meeting: str, run: str | None = None) -> dict[str, object] | None:
        r = httpx.get(f"{self.api}/transcripts/{meeting}", params={"run": run} if run else {},
                      headers={"X-API-Key": self.key}, timeout=10)
        return r.json() if r.status_code == 200 else None

    def settled(self, meeting: str, timeout_s: float = 240) -> dict[str, object]:
        """The transcript once the session completed and its settled text stopped changing."""
        deadline, last, since = time.monotonic() + timeout_s, None, time.monotonic()
        while time.monotonic() < deadline:
            body = self.transcript(meeting)
            segs = body["segments"] if body else []
            done = (body is not None and body["status"] == "completed" and segs
                    and all(s["run_id"] == "settled" for s in segs))  # type: ignore[index,union-attr]
            if not done or body != last:
                last, since = body, time.monotonic()
            elif time.monotonic() - since >= 6:
                assert body is not None
                return body
            time.sleep(1)
        raise AssertionError(f"{meeting}: not settled in {timeout_s} s: {last}")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if reason := _engine_and_images():
        pytest.skip(reason)
    project = f"stenographtest{os.getpid()}"
    ports = {name: str(free_port()) for name in
             ("STENOGRAPH_API_PORT", "STENOGRAPH_KAFKA_HOST_PORT", "STENOGRAPH_REDIS_HOST_PORT",
              "STENOGRAPH_GATEWAY_PORT")}
    env = {**os.environ, **ports, "STENOGRAPH_COMPOSE_PROJECT": project}
    s = Stack(project, env, f"http://127.0.0.1:{ports['STENOGRAPH_API_PORT']}", key="")
    try:
        up = s.compose("up")
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
        made = s.compose("exec", "-T", "api", "stenograph", "key", "create", "--tenant", "local")
        assert made.returncode == 0, made.stderr
        s.key = made.stdout.strip().splitlines()[-1]
        yield s
    finally:
        logs = s.compose("logs", "--no-color", "--tail", "60")
        print(logs.stdout[-20000:])
        s.compose("down", "--volumes")


def test_a_recording_streamed_by_service_name_is_read_from_the_host(stack: Stack) -> None:
    streamer = stack.stream(DATA / "jfk.flac", "google_meet/compose-jfk")
    _, err = streamer.communicate(timeout=120)
    assert streamer.returncode == 0, err
    body = stack.settled("google_meet/compose-jfk")
    hypothesis = normalize(" ".join(str(s["text"]) for s in body["segments"]))  # type: ignore[attr-defined]
    error = jiwer.wer(normalize((DATA / "jfk.txt").read_text()), hypothesis)
    assert error <= 0.15, (error, hypothesis)


def _pid(container: str) -> int:
    return int(_docker("inspect", "-f", "{{.State.Pid}}", container).stdout.strip())


def _restarts(container: str) -> int:
    return int(_docker("inspect", "-f", "{{.RestartCount}}", container).stdout.strip())


def test_the_transcriber_killed_is_restarted_by_its_policy_and_loses_no_words(stack: Stack) -> None:
    recording = DATA / "ami_dev00.wav"
    reference = stack.stream(recording, "zoom/compose-undisturbed", realtime=False)
    reference.communicate(timeout=120)
    assert reference.returncode == 0
    undisturbed = stack.settled("zoom/compose-undisturbed")
    undisturbed_live = stack.transcript("zoom/compose-undisturbed", "live")
    assert undisturbed_live is not None

    transcriber = stack.container("transcriber")
    before = _restarts(transcriber)
    streamer = stack.stream(recording, "zoom/compose-killed")
    try:
        for _ in range(300):  # a first final is in: the worker is mid-meeting
            if (body := stack.transcript("zoom/compose-killed", "live")) and body["segments"]:
                break
            time.sleep(0.2)
        else:
            pytest.fail("no final segment before the kill")
        # SIGKILL of the service's own process from the host: a crash, not `docker stop`
        os.kill(_pid(transcriber), signal.SIGKILL)
        _, err = streamer.communicate(timeout=180)
        assert streamer.returncode == 0, err
    finally:
        streamer.kill()
    disturbed = stack.settled("zoom/compose-killed")
    assert _restarts(transcriber) == before + 1  # the restart policy brought it back

    def text(body: dict[str, object] | None) -> list[str]:
        assert body is not None
        return words(" ".join(str(s["text"]) for s in body["segments"]))  # type: ignore[attr-defined]

    assert text(disturbed) == text(undisturbed)
    assert text(stack.transcript("zoom/compose-killed", "live")) == text(undisturbed_live)
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
    out = _docker("run", "--rm", "--network", stack.network, "--entrypoint", "python",
                  "stenograph:local", "-c", script, *workers).stdout.split("\n")
    assert sorted(line.split()[0] for line in out if line) == sorted(workers)
    api = httpx.get(f"{stack.api}/metrics", timeout=10).text
    assert "stenograph_http_request_seconds_bucket" in api
    agg = _docker("run", "--rm", "--network", stack.network, "--entrypoint", "python",
                  "stenograph:local", "-c",
                  "import urllib.request; print(urllib.request.urlopen("
                  "'http://aggregator:9100/metrics', timeout=5).read().decode())").stdout
    # the earlier tests' finals moved the final-text latency histogram
    count = [line for line in agg.splitlines()
             if line.startswith('stenograph_final_text_latency_seconds_count{run="live"}')]
    assert count and float(count[0].split()[-1]) > 0, count
