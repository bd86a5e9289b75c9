"""`stenograph up | status | down` and the demo, against the session's broker and Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from stenograph.compose.local.processes import free_port, port_open
from tests.support import DATA, Infra, make_pipeline, words

pytestmark = pytest.mark.integration


def test_up_status_demo_down(infra: Infra, tmp_path: Path) -> None:
    prefix = make_pipeline(infra, tmp_path).prefix  # creates the prefixed topics
    env = {
        **os.environ,
        "STENOGRAPH_STATE_DIR": str(tmp_path / "state"),
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
        "REDIS_URL": infra.redis_url,
        "STENOGRAPH_TOPIC_PREFIX": prefix,
        "STENOGRAPH_REDIS_PREFIX": prefix.rstrip("."),
        "STENOGRAPH_GROUP_ID": f"{prefix}transcriber",
        "STENOGRAPH_REPLAY_GROUP_ID": f"{prefix}replayer",
        "STENOGRAPH_WEBHOOK_GROUP_ID": f"{prefix}webhooks",
        "STENOGRAPH_API_PORT": str(api_port := free_port()),
        "STENOGRAPH_METRICS_PORT_BASE": str(_free_ports(5, besides=api_port)),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "stenograph", *args], env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    try:
        first = cli("up")
        assert first.returncode == 0, first.stderr
        assert "stack up" in first.stdout and "(external)" in first.stderr
        key = first.stdout.split("(X-API-Key): ", 1)[1].split()[0]
        assert key.startswith("stg_")
        saved = tmp_path / "state" / "dev-api-key"
        assert saved.read_text().strip() == key and saved.stat().st_mode & 0o777 == 0o600
        deadline = time.monotonic() + 60  # healthy = consuming with its lag known (the
        while (status := cli("status")).returncode and time.monotonic() < deadline:  # aggregator
            time.sleep(1)  # reports it every 5 s)
        assert status.returncode == 0, status.stdout
        for part in ("transcriber", "aggregator", "replayer", "webhooks", "api"):
            assert part in status.stdout
        pids = sorted((tmp_path / "state" / "pids").glob("*.pid"))
        before = {p.name: p.read_text() for p in pids}
        again = cli("up")
        assert again.returncode == 0 and key in again.stdout  # idempotent: same key, nothing restarted
        assert {p.name: p.read_text() for p in pids} == before

        native = f"demo-{uuid.uuid4().hex[:6]}"
        demo = cli("demo", str(DATA / "jfk.flac"), "--meeting", f"google_meet/{native}")
        assert demo.returncode == 0, demo.stderr
        spoken = " ".join(line.split("]", 1)[1] for line in demo.stdout.splitlines() if "] " in line)
        assert "ask not what your country can do for you" in " ".join(words(spoken))
        assert "/docs" in demo.stdout and "make down" in demo.stdout

        # every service serves its metrics where `status --json` says, and they moved with the demo
        parts = {p["name"]: p for p in json.loads(cli("status", "--json").stdout)["parts"]}
        scraped = {name: httpx.get(p["metrics"], timeout=10).text for name, p in parts.items()
                   if p["metrics"]}
        assert set(scraped) == {"transcriber", "aggregator", "replayer", "webhooks", "bot-manager", "api"}
        assert _sample(scraped["transcriber"], 'stenograph_model_seconds_count{kind="final"}') >= 1
        assert _sample(scraped["transcriber"], 'stenograph_records_total{stage="transcriber",'
                                               'topic="meetings.audio"}') >= 100
        assert _sample(scraped["aggregator"], 'stenograph_final_text_latency_seconds_count{run="live"}') >= 1
        assert 'stenograph_http_request_seconds_count{method="GET",route="/transcripts/{platform}/' \
            in scraped["api"]

        # a service killed under the stack is started again by the supervisor, and status says so
        killed = parts["webhooks"]["pid"]
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            again_parts = {p["name"]: p for p in json.loads(cli("status", "--json").stdout)["parts"]}
            hook = again_parts["webhooks"]
            if hook["healthy"] and hook["pid"] != killed:
                break
            time.sleep(0.5)
        assert hook["healthy"] and hook["pid"] != killed, hook
        assert hook["restarts"] == 1 and hook["last_error"], hook
        assert again_parts["supervisor"]["healthy"] and again_parts["transcriber"]["restarts"] == 0
        table = cli("status")
        assert table.returncode == 0 and "webhooks" in table.stdout, table.stdout
    finally:
        down = cli("down")
    assert down.returncode == 0 and "api" in down.stdout
    assert not (tmp_path / "state" / "pids" / "supervisor.pid").exists()
    after = cli("status")
    assert after.returncode == 1 and "down" in after.stdout


def _free_ports(n: int, besides: int) -> int:
    """The first of n consecutive free ports on loopback, none of them `besides`."""
    for _ in range(50):
        base = free_port()
        if all(not port_open(base + i) and base + i != besides for i in range(n)):
            return base
    raise RuntimeError(f"no {n} consecutive free ports")


def _sample(text: str, series: str) -> float:
    """The value of one series in Prometheus's text format."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in {text[:2000]}")


def test_the_stacks_redis_keeps_its_data_through_a_kill_9(tmp_path: Path) -> None:
    """The local stack's Redis writes an append-only file before it answers a write: a kill -9
    loses nothing acknowledged (the read model once came back without what was written since the
    last snapshot)."""

    import redis

    from stenograph.compose.local.stack import StackConfig, redis_process

    cfg = StackConfig(state_dir=tmp_path, redis_port=free_port())
    proc = redis_process(cfg)
    proc.start()
    proc.wait_ready(30)
    client = redis.Redis(port=cfg.redis_port)
    try:
        client.set("stenograph:probe", "kept")  # acknowledged: on disk
        pid = proc.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            if proc.pid() is None:
                break
            time.sleep(0.1)
        proc.start()
        proc.wait_ready(30)
        assert client.get("stenograph:probe") == b"kept"
    finally:
        client.close()
        proc.stop()
