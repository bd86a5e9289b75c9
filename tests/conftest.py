"""Session fixtures: one real Kafka broker and one real Redis for the whole test session.

Order: KAFKA_BOOTSTRAP_SERVERS / REDIS_URL when set -> testcontainers when a Docker engine
answers -> the project's own local processes (what runs here and in CI).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from compose.local.kafka import KafkaNode, ensure_libs
from compose.local.processes import ManagedProcess, free_port, port_open
from stenograph.kafka import create_topics
from tests.support import Infra, Pipeline


def _docker_engine() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _local_infra(stack: ExitStack, home: Path) -> Infra:
    redis_port, kafka_port, ctl_port = free_port(), free_port(), free_port()
    redis = ManagedProcess(
        "redis",
        [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(redis_port),
         "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(home)],
        home, ready=lambda: port_open(redis_port),
    )
    redis.start()
    stack.callback(redis.stop)
    node = KafkaNode(home / "kafka", kafka_port, ctl_port, heap="512m")
    kafka = ManagedProcess("kafka", node.prepare(ensure_libs()), home,
                           ready=lambda: port_open(kafka_port))
    kafka.start()
    stack.callback(kafka.stop)
    redis.wait_ready(30)
    kafka.wait_ready(90)
    return Infra(node.bootstrap, f"redis://127.0.0.1:{redis_port}/0")


def _container_infra(stack: ExitStack) -> Infra:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.redis import RedisContainer

    kafka = stack.enter_context(KafkaContainer("apache/kafka:4.1.1").with_kraft())
    redis = stack.enter_context(RedisContainer("redis:7"))
    host, port = redis.get_container_host_ip(), redis.get_exposed_port(6379)
    return Infra(kafka.get_bootstrap_server(), f"redis://{host}:{port}/0")


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    with ExitStack() as stack:
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("REDIS_URL"):
            found = Infra(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["REDIS_URL"])
        elif _docker_engine():
            found = _container_infra(stack)
        else:
            found = _local_infra(stack, tmp_path_factory.mktemp("infra"))
        yield found


def make_pipeline(infra: Infra, state_dir: Path, **kw: object) -> Pipeline:
    pipeline = Pipeline(infra, state_dir, **kw)  # type: ignore[arg-type]
    asyncio.run(_create_topics(infra.bootstrap, pipeline.prefix))
    return pipeline


async def _create_topics(bootstrap: str, prefix: str) -> None:
    for attempt in range(60):
        try:
            await create_topics(bootstrap, prefix)
            return
        except Exception:  # broker still starting
            if attempt == 59:
                raise
            await asyncio.sleep(1)


@pytest.fixture(scope="session")
def pipeline(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """The shared running pipeline: transcriber, aggregator, API on their own topic prefix."""
    p = make_pipeline(infra, tmp_path_factory.mktemp("pipeline"))
    try:
        p.start()
        yield p
    finally:
        p.stop()
