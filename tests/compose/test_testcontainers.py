"""The test fixtures' testcontainers path, for real: Kafka and Redis from the images `make images`
built, started by testcontainers, under integration tests that use both (the topic layout on the
broker, the aggregator's handlers on Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compose.stack import engine_and_images

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]


def test_integration_tests_pass_on_containers_started_by_testcontainers() -> None:
    if reason := engine_and_images():
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}
    env["STENOGRAPH_TEST_INFRA"] = "testcontainers"
    before = subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True).stdout.split()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         "tests/integration/test_topic_layout.py", "tests/integration/test_aggregator_handlers.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "stenograph infra: testcontainers" in proc.stdout
    assert "5 passed" in proc.stdout, proc.stdout[-2000:]
    after = subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True).stdout.split()
    assert set(after) <= set(before), "the containers were not removed"
