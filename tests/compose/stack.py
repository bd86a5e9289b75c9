"""The compose stack under test: its own project name, network and loopback ports, started from
the images `make images` built, and helpers to act on its containers from the host."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from stenograph.compose.local.processes import free_port
from tests.support import words

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ("stenograph:local", "stenograph/kafka:local", "stenograph/redis:local")


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr.strip()[-800:]}")
    return proc


def engine_and_images() -> str | None:
    """Why the compose tests cannot run here, or None."""
    if not shutil.which("docker"):
        return "no Docker engine installed (`make images` installs it)"
    if docker("info", timeout=20, check=False).returncode != 0:
        return "the Docker engine does not answer (compose/engine.sh starts it)"
    missing = [i for i in IMAGES if docker("image", "inspect", i, check=False).returncode != 0]
    return f"images not built (`make images`): {', '.join(missing)}" if missing else None


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    api: str
    key: str
    cluster: bool = False  # the cluster profile (compose/cluster.env)

    @property
    def network(self) -> str:
        return f"{self.project}_default"

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        flags = ["--cluster"] if self.cluster else []
        return subprocess.run(["bash", "compose/compose.sh", *flags, *args], cwd=ROOT, env=self.env,
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
             "-e", f"STENOGRAPH_SECRET_KEY={self.env['STENOGRAPH_SECRET_KEY']}",
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

    def python(self, script: str, *args: str) -> str:
        """A Python script in a throwaway container on the stack's network."""
        return docker("run", "--rm", "--network", self.network, "--entrypoint", "python",
                      "stenograph:local", "-c", script, *args).stdout


def words_of(body: dict[str, object] | None) -> list[str]:
    """A transcript's words, normalized, in order."""
    assert body is not None
    return words(" ".join(str(s["text"]) for s in body["segments"]))  # type: ignore[attr-defined]


def pid_of(container: str) -> int:
    return int(docker("inspect", "-f", "{{.State.Pid}}", container).stdout.strip())


def restarts(container: str) -> int:
    return int(docker("inspect", "-f", "{{.RestartCount}}", container).stdout.strip())


@contextmanager
def running(name: str, *up_args: str, cluster: bool = False, files: tuple[str, ...] = ()) -> Iterator[Stack]:
    """The stack up (and healthy) with a key of tenant `local`, `files` composed on top of the
    stack's file; down with its volumes after."""
    if reason := engine_and_images():
        pytest.skip(reason)
    project = f"{name}{os.getpid()}"
    ports = {var: str(free_port()) for var in
             ("STENOGRAPH_API_PORT", "STENOGRAPH_KAFKA_HOST_PORT", "STENOGRAPH_REDIS_HOST_PORT",
              "STENOGRAPH_GATEWAY_PORT")}
    env = {**os.environ, **ports, "STENOGRAPH_COMPOSE_PROJECT": project,
           "STENOGRAPH_COMPOSE_FILES": ":".join(str(ROOT / f) for f in files)}
    s = Stack(project, env, f"http://127.0.0.1:{ports['STENOGRAPH_API_PORT']}", key="",
              cluster=cluster)
    try:
        up = s.compose("up", *up_args)
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
        made = s.compose("exec", "-T", "api", "stenograph", "key", "create", "--tenant", "local")
        assert made.returncode == 0, made.stderr
        s.key = made.stdout.strip().splitlines()[-1]
        yield s
    finally:
        print(s.compose("logs", "--no-color", "--tail", "60").stdout[-20000:])
        s.compose("down", "--volumes")
