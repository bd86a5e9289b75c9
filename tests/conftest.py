"""Session fixtures: one real Kafka broker and one real Redis for the whole test session.

Order: KAFKA_BOOTSTRAP_SERVERS / REDIS_URL when set -> testcontainers when
STENOGRAPH_TEST_INFRA=testcontainers and the engine holds the images `make images` built (no
registry is reachable here, so nothing is pulled) -> the project's own local processes (the
default, here and in CI). The pytest header says which.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from stenograph.schemas import new_master_key
from tests.checker import Verdict
from tests.support import (
    KAFKA_IMAGE,
    REDIS_IMAGE,
    Infra,
    Pipeline,
    make_pipeline,
    start_container_infra,
    start_local_infra,
)

# one master key for every process of the session (services, CLIs, the tests' own producers),
# as a deployment has one: audio sealed by one process must open in another
os.environ.setdefault("STENOGRAPH_SECRET_KEY", new_master_key())


def _docker(*args: str) -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", *args], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def containers_ready() -> bool:
    """A Docker engine that answers and holds both images already (nothing can be pulled here)."""
    return _docker("info") and all(_docker("image", "inspect", i) for i in (KAFKA_IMAGE, REDIS_IMAGE))


@functools.cache
def infra_path() -> str:
    """Which real Kafka and Redis the session's tests get."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("REDIS_URL"):
        return "external"
    if os.environ.get("STENOGRAPH_TEST_INFRA") == "testcontainers":
        if not containers_ready():
            raise pytest.UsageError(f"STENOGRAPH_TEST_INFRA=testcontainers: no Docker engine, or no "
                                    f"{KAFKA_IMAGE} / {REDIS_IMAGE} (`make images`)")
        return "testcontainers"
    return "local processes"


def pytest_report_header() -> str:
    return f"stenograph infra: {infra_path()} (real Kafka and redis-server)"


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    with ExitStack() as stack:
        path = infra_path()
        if path == "external":
            found = Infra(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["REDIS_URL"])
        elif path == "testcontainers":
            found = start_container_infra(stack)
        else:
            found = start_local_infra(stack, tmp_path_factory.mktemp("infra"))
        yield found


@pytest.fixture(scope="session")
def pipeline(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """The shared running pipeline: transcriber, aggregator, API on their own topic prefix."""
    p = make_pipeline(infra, tmp_path_factory.mktemp("pipeline"))
    try:
        p.start()
        yield p
    finally:
        p.stop()
    # no key used in the whole session may be in any process's log (the hygiene test checks
    # its own keys; this checks every one every test used, through every path)
    assert p.keys_in_logs() == [], p.keys_in_logs()


@pytest.fixture
def own_pipeline(infra: Infra, tmp_path: Path) -> Iterator[Pipeline]:
    """A pipeline of this test's alone (own topics and groups), started by the test itself."""
    p = make_pipeline(infra, tmp_path)
    try:
        yield p
    finally:
        p.stop()


VERDICTS = pytest.StashKey[list[Verdict]]()


@pytest.fixture
def chaos_report(request: pytest.FixtureRequest) -> list[Verdict]:
    """Where a chaos test files its verdicts, for the session's summary (pytest_terminal_summary)."""
    return request.config.stash.setdefault(VERDICTS, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    verdicts = config.stash.get(VERDICTS, [])
    if verdicts:
        terminalreporter.section("chaos: per fault, against an undisturbed run of the same audio "
                                 "(webhooks: against the events owed)")
        for v in verdicts:
            terminalreporter.write_line(v.line())
            for note in v.notes:
                terminalreporter.write_line(f"{'':4}{note}")
