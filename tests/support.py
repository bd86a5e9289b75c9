"""Helpers for integration tests: the real broker and Redis, pipeline processes, polling."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import wave
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from stenograph.compose.local.kafka import KafkaNode, ensure_libs
from stenograph.compose.local.processes import ManagedProcess, free_port, port_open
from stenograph.runtime.kafka import create_topics, plain_consumer, topic_partitions
from stenograph.runtime.readers import TopicReader
from stenograph.schemas.topics import AUDIO, COMMANDS, LIFECYCLE, SEGMENTS, TENANTS

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Infra:
    """Where the session's broker and Redis are."""

    bootstrap: str
    redis_url: str


ADMIN_KEY = "test-admin-key"


@dataclass
class Pipeline:
    """Transcriber, aggregator and API processes against one topic prefix."""

    infra: Infra
    state_dir: Path
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}.")
    api_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, ManagedProcess] = field(default_factory=dict)
    api_key: str | None = None  # tenant "local"'s key, minted when the API first starts
    minted: list[str] = field(default_factory=list)  # every key this pipeline's tests minted

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def transcriber_group(self) -> str:
        return f"{self.prefix}transcriber"

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.infra.bootstrap,
            "REDIS_URL": self.infra.redis_url,
            "STENOGRAPH_TOPIC_PREFIX": self.prefix,
            "STENOGRAPH_REDIS_PREFIX": self.prefix.rstrip("."),
            "STENOGRAPH_GROUP_ID": self.transcriber_group,
            "STENOGRAPH_REPLAY_GROUP_ID": f"{self.prefix}replayer",
            "STENOGRAPH_WEBHOOK_GROUP_ID": f"{self.prefix}webhooks",
            "STENOGRAPH_API_PORT": str(self.api_port),
            "STENOGRAPH_TENANT": "local",
            "STENOGRAPH_IDLE_FLUSH_S": "5",
            "STENOGRAPH_ADMIN_API_KEY": ADMIN_KEY,
            **self.extra_env,
        }

    def process(self, name: str, command: str | None = None,
                env: dict[str, str] | None = None) -> ManagedProcess:
        ready = self.state_dir / "ready" / f"{self.prefix}{name}"

        def is_ready() -> bool:
            if (command or name) != "api":
                return ready.is_file()
            try:
                return httpx.get(f"{self.api_url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        return ManagedProcess(
            f"{self.prefix}{name}", [sys.executable, "-m", "stenograph", command or name], self.state_dir,
            env={**self.env(), **(env or {}), "STENOGRAPH_READY_FILE": str(ready)}, ready=is_ready,
        )

    def start(self, *names: str, command: str | None = None,
              env: dict[str, str] | None = None) -> None:
        """Start processes by name; `command` runs another instance of a service under `name`."""
        for name in names or ("transcriber", "aggregator", "replayer", "api"):
            proc = self.process(name, command, env)
            (self.state_dir / "ready" / proc.name).unlink(missing_ok=True)
            proc.start()
            proc.wait_ready(120)
            self.procs[name] = proc
        if "api" in self.procs and "aggregator" in self.procs and self.api_key is None:
            self.api_key = self.mint_key("local")
            # many tests ask for bots, and no bot manager ends them here: lift the bot limit
            r = httpx.patch(f"{self.api_url}/admin/users/local", json={"max_concurrent_bots": 10_000},
                            headers={"X-Admin-API-Key": ADMIN_KEY}, timeout=10)
            r.raise_for_status()

    def mint_key(self, tenant: str) -> str:
        """A new API key for `tenant`, returned once the API accepts it."""
        key = self.cli("key", "create", "--tenant", tenant, check=True).stdout.strip()
        self.minted.append(key)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = httpx.get(f"{self.api_url}/meetings", headers={"X-API-Key": key}, timeout=5)
            if r.status_code == 200:
                return key
            time.sleep(0.1)
        raise TimeoutError(f"the API did not accept a new key of {tenant} in 30 s")

    def keys_in_logs(self, more: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """(log file, key prefix) for every key of this pipeline found in any process's log."""
        keys = [*self.minted, *more]
        return [(log.name, key[:16]) for log in sorted((self.state_dir / "logs").glob("*.log"))
                for text in [log.read_text(errors="replace")] for key in keys if key in text]

    def client(self, key: str | None = None, timeout: float = 10) -> httpx.AsyncClient:
        """An API client acting as tenant "local" (or as the owner of `key`)."""
        return httpx.AsyncClient(base_url=self.api_url, timeout=timeout,
                                 headers={"X-API-Key": key or self.api_key or ""})

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop(timeout=10)

    @property
    def aggregator_group(self) -> str:
        return f"{self.prefix}stenograph-aggregator"

    async def idle(self, timeout: float = 180) -> None:
        """Until everything published so far is transcribed (when a transcriber runs) and
        materialized."""
        if "transcriber" in self.procs:
            await wait_consumed(self.infra.bootstrap, self.transcriber_group, self.topic(AUDIO), timeout)
        if "aggregator" in self.procs:
            for base in (SEGMENTS, LIFECYCLE, COMMANDS, TENANTS):
                await wait_consumed(self.infra.bootstrap, self.aggregator_group, self.topic(base), timeout)

    async def transcript(self, meeting: str) -> httpx.Response:
        async with self.client() as client:
            return await client.get(f"/transcripts/{meeting}")

    def topic(self, base: str) -> str:
        return f"{self.prefix}{base}"

    def cli(self, *args: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stenograph", *args], capture_output=True, text=True,
            env={**os.environ, **self.env()}, timeout=timeout, check=check,
        )

    def stream_live(self, path: Path, meeting: str, log: Path | None = None) -> subprocess.Popen[str]:
        """`stenograph stream --realtime` in the background: a meeting in progress. Its output goes
        to `log` when given: a broker down for long fills a pipe nobody reads with its client's
        errors, and the streamer then blocks on its own stderr."""
        out = open(log, "w") if log is not None else subprocess.PIPE  # noqa: SIM115 (the child's)
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "stenograph", "stream", str(path), "--meeting", meeting, "--realtime"],
                env={**os.environ, **self.env()}, stdout=out, stderr=out, text=True,
            )
        finally:
            if log is not None:
                out.close()  # type: ignore[union-attr]

    def stream(self, path: Path, meeting: str, *, realtime: bool = False) -> str:
        """Publish a file as one session; returns the meeting id."""
        args = ["stream", str(path), "--meeting", meeting] + (["--realtime"] if realtime else [])
        proc = self.cli(*args)
        assert proc.returncode == 0, proc.stderr
        match = re.search(r"id=([0-9a-f]{32})", proc.stdout)
        assert match, proc.stdout
        return match.group(1)


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    async with plain_consumer(bootstrap) as consumer:
        tps = await topic_partitions(consumer, topic)
        ends = await consumer.end_offsets(tps)
        return {tp.partition: off for tp, off in ends.items()}


async def wait_consumed(bootstrap: str, group: str, topic: str, timeout: float = 120) -> None:
    """Until the group's committed offsets reach the topic's end: everything is processed."""
    ends = await end_offsets(bootstrap, topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            committed = await admin.list_consumer_group_offsets(group)
            done = {tp.partition: om.offset for tp, om in committed.items() if tp.topic == topic}
            if all(done.get(p, 0) >= end for p, end in ends.items() if end > 0):
                return
            await asyncio.sleep(0.3)
        raise TimeoutError(f"{group} did not consume {topic} to {ends} in {timeout} s")
    finally:
        await admin.close()


async def read_all(bootstrap: str, topic: str, timeout: float = 5) -> list[Any]:
    """Every record now on `topic` (all partitions)."""
    records: list[Any] = []
    async with asyncio.timeout(timeout), TopicReader(bootstrap, [topic], start="beginning") as reader:
        async for batch in reader.to_end():
            records.extend(batch)
    return records


async def read_events(bootstrap: str, topic: str, base: str) -> list[Any]:
    """The decodable events now on a topic; poison messages other tests parked are skipped."""
    from stenograph.schemas.codec import codec
    from stenograph.schemas.errors import CodecError

    events = []
    for record in await read_all(bootstrap, topic):
        try:
            events.append(codec(base).decode(record.value))
        except CodecError:
            continue
    return events



async def opened_frames(bootstrap: str, prefix: str, meeting_id: str) -> list[Any]:
    """A meeting's frames on the audio topic in seq order, opened with the session's master key
    (the environment's, as every process of the test session has it)."""
    from stenograph.runtime import CommonSettings, meeting_keys
    from stenograph.schemas.topics import KEYS

    stored = await read_events(bootstrap, f"{prefix}{AUDIO}", AUDIO)
    frames = [f for f in stored if f.meeting_id == meeting_id]
    keys = await meeting_keys(bootstrap, f"{prefix}{KEYS}", CommonSettings().master_key, meeting_id)
    opened = [await keys.open(f) for f in sorted(frames, key=lambda f: f.seq)]
    return [f for f in opened if f is not None]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    """Until `check` holds (read models catch up with Kafka a moment after a write)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


JFK_WORDS = words("ask not what your country can do for you ask what you can do for your country")


def has_jfk_sentence(text: list[str]) -> bool:
    """JFK's sentence in order, but for up to 2 of its words (tiny.en may miss one where a chunk
    cut falls, as on the file itself: WER ≤ 0.15 end to end)."""
    found = SequenceMatcher(None, JFK_WORDS, text, autojunk=False).get_matching_blocks()
    return sum(b.size for b in found) >= len(JFK_WORDS) - 2


def normalize(text: str) -> str:
    return " ".join(words(text))


def write_wav(path: Path, samples: Any) -> Path:
    """16 kHz mono 16-bit PCM from an array of samples."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


@dataclass
class LocalInfra:
    """A KRaft broker and a Redis as local processes that a test may kill and start again."""

    infra: Infra
    kafka: ManagedProcess
    redis: ManagedProcess
    redis_dir: Path

    def stop(self) -> None:
        self.kafka.stop()
        self.redis.stop()


def local_infra(home: Path, *, redis_keeps_data: bool = False) -> LocalInfra:
    """Redis (with its append-only file when `redis_keeps_data`, as the local stack runs it) and
    a broker on free ports, started and ready."""
    redis_port, kafka_port, ctl_port = free_port(), free_port(), free_port()
    redis_dir = home / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    persistence = (["--appendonly", "yes", "--appendfsync", "everysec"] if redis_keeps_data
                   else ["--save", "", "--appendonly", "no"])
    redis = ManagedProcess(
        "redis",
        [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(redis_port),
         "--bind", "127.0.0.1", *persistence, "--dir", str(redis_dir)],
        home, ready=lambda: port_open(redis_port),
    )
    redis.start()
    node = KafkaNode(home / "kafka", kafka_port, ctl_port, heap="512m")
    kafka = ManagedProcess("kafka", node.prepare(ensure_libs()), home,
                           ready=lambda: port_open(kafka_port))
    kafka.start()
    redis.wait_ready(30)
    kafka.wait_ready(90)
    return LocalInfra(Infra(node.bootstrap, f"redis://127.0.0.1:{redis_port}/0"), kafka, redis, redis_dir)


def start_local_infra(stack: ExitStack, home: Path) -> Infra:
    """Redis and a KRaft broker as local processes on free ports, stopped by `stack`."""
    local = local_infra(home)
    stack.callback(local.stop)
    return local.infra


# the images `make images` builds (no registry is reachable here, so nothing is pulled)
KAFKA_IMAGE, REDIS_IMAGE = "stenograph/kafka:local", "stenograph/redis:local"


def start_container_infra(stack: ExitStack) -> Infra:
    """Redis and a KRaft broker as containers (testcontainers) on free loopback ports, removed
    by `stack`. Ryuk, testcontainers' reaper, is an image from a registry: off, `stack` reaps."""
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    from testcontainers.core.container import DockerContainer

    kafka_port, redis_port = free_port(), free_port()
    kafka = (DockerContainer(KAFKA_IMAGE)
             .with_bind_ports(29092, kafka_port)
             .with_envs(CLUSTER_ID="c3Rlbm9ncmFwaC10ZXN0cw", KAFKA_NODE_ID="1",
                        KAFKA_PROCESS_ROLES="broker,controller",
                        KAFKA_CONTROLLER_QUORUM_VOTERS="1@localhost:9093",
                        KAFKA_LISTENERS="PLAINTEXT://:9092,CONTROLLER://:9093,HOST://:29092",
                        KAFKA_ADVERTISED_LISTENERS=f"PLAINTEXT://localhost:9092,HOST://127.0.0.1:{kafka_port}",
                        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
                                                             "HOST:PLAINTEXT",
                        KAFKA_CONTROLLER_LISTENER_NAMES="CONTROLLER",
                        KAFKA_INTER_BROKER_LISTENER_NAME="PLAINTEXT",
                        KAFKA_LOG_DIRS="/var/lib/kafka/data", KAFKA_AUTO_CREATE_TOPICS_ENABLE="false",
                        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="1", KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS="4",
                        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR="1",
                        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="1",
                        KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR="1",
                        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS="0", KAFKA_OFFSET_METADATA_MAX_BYTES="1048576",
                        KAFKA_MESSAGE_MAX_BYTES="16777216", KAFKA_HEAP_OPTS="-Xmx512m -Xms512m"))
    redis = (DockerContainer(REDIS_IMAGE).with_bind_ports(6379, redis_port)
             .with_command("redis-server --protected-mode no --dir /data --save '' --appendonly no"))
    for container in (kafka, redis):
        container.start()
        stack.callback(container.stop)
    infra = Infra(f"127.0.0.1:{kafka_port}", f"redis://127.0.0.1:{redis_port}/0")
    # docker's proxy accepts on the host port at once: ready is the broker and Redis answering
    deadline = time.monotonic() + 90
    while not asyncio.run(_answers(infra)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"containers not answering: {kafka.get_logs()}")
        time.sleep(0.5)
    return infra


async def _answers(infra: Infra) -> bool:
    from redis.asyncio import Redis

    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.list_topics()
        async with Redis.from_url(infra.redis_url) as redis:
            return bool(await redis.ping())
    except Exception:  # starting still: refused, reset or timed out
        return False
    finally:
        await admin.close()


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
