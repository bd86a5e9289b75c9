"""The local stack: Redis, Kafka, transcriber, aggregator and API as background processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stenograph.compose.local.kafka import KafkaNode, KafkaSetupError, ensure_libs
from stenograph.compose.local.processes import ManagedProcess, port_open
from stenograph.compose.local.supervisor import read_records
from stenograph.runtime import CommonSettings, create_topics, health, local_secret_key, state_dir

READY_ENV = "STENOGRAPH_READY_FILE"
# each worker's metrics port, from STENOGRAPH_METRICS_PORT_BASE on (the API serves /metrics itself)
METRICS_SLOTS = {"transcriber": 0, "aggregator": 1, "replayer": 2, "webhooks": 3, "bot-manager": 4}


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path
    kafka_port: int = 29092
    controller_port: int = 29093
    redis_port: int = 16379
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    topic_prefix: str = ""
    metrics_port_base: int = 29100
    external_kafka: str | None = None  # KAFKA_BOOTSTRAP_SERVERS: use that broker, start none
    external_redis: str | None = None  # REDIS_URL: use that Redis, start none

    @classmethod
    def from_env(cls) -> StackConfig:
        env = os.environ
        return cls(
            state_dir=state_dir(),
            kafka_port=int(env.get("STENOGRAPH_KAFKA_PORT", 29092)),
            controller_port=int(env.get("STENOGRAPH_KAFKA_CONTROLLER_PORT", 29093)),
            redis_port=int(env.get("STENOGRAPH_REDIS_PORT", 16379)),
            api_host=env.get("STENOGRAPH_API_HOST", "127.0.0.1"),
            api_port=int(env.get("STENOGRAPH_API_PORT", 8000)),
            topic_prefix=env.get("STENOGRAPH_TOPIC_PREFIX", ""),
            metrics_port_base=int(env.get("STENOGRAPH_METRICS_PORT_BASE", 29100)),
            external_kafka=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            external_redis=env.get("REDIS_URL") or None,
        )

    @property
    def bootstrap(self) -> str:
        return self.external_kafka or f"127.0.0.1:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        return self.external_redis or f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    def settings(self) -> CommonSettings:
        return CommonSettings(kafka_bootstrap_servers=self.bootstrap, redis_url=self.redis_url,
                              topic_prefix=self.topic_prefix)

    def metrics_url(self, name: str) -> str | None:
        """Where a service of this stack serves its Prometheus metrics."""
        if name == "api":
            return f"{self.api_url}/metrics"
        if name in METRICS_SLOTS:
            return f"http://127.0.0.1:{self.metrics_port_base + METRICS_SLOTS[name]}/metrics"
        return None

    def service_env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "REDIS_URL": self.redis_url,
            "STENOGRAPH_TOPIC_PREFIX": self.topic_prefix,
            "STENOGRAPH_API_HOST": self.api_host,
            "STENOGRAPH_API_PORT": str(self.api_port),
            # every service seals and opens with one master key (made once in the state directory)
            "STENOGRAPH_SECRET_KEY": os.environ.get("STENOGRAPH_SECRET_KEY") or local_secret_key(),
        }


def redis_process(cfg: StackConfig) -> ManagedProcess:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    data = cfg.state_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    return ManagedProcess(
        "redis",
        [binary, "--port", str(cfg.redis_port), "--bind", "127.0.0.1", "--dir", str(data),
         # the read model survives a crash of Redis: a write is in the append-only file before Redis
         # answers (fsynced every second, for a crash of the machine)
         "--save", "60 1", "--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "yes"],
        cfg.state_dir,
        ready=lambda: port_open(cfg.redis_port),
    )


def kafka_node(cfg: StackConfig) -> KafkaNode:
    return KafkaNode(cfg.state_dir / "kafka", cfg.kafka_port, cfg.controller_port)


def kafka_process(cfg: StackConfig, argv: list[str] | None = None) -> ManagedProcess:
    return ManagedProcess("kafka", argv or [], cfg.state_dir, ready=lambda: port_open(cfg.kafka_port))


def _ready_file(cfg: StackConfig, name: str) -> Path:
    return cfg.state_dir / "ready" / name


def worker_process(cfg: StackConfig, name: str) -> ManagedProcess:
    ready = _ready_file(cfg, name)
    return ManagedProcess(
        name,
        [sys.executable, "-m", "stenograph", name],
        cfg.state_dir,
        env={**cfg.service_env(), READY_ENV: str(ready),
             "STENOGRAPH_METRICS_PORT": str(cfg.metrics_port_base + METRICS_SLOTS[name])},
        ready=ready.is_file,
    )


def api_process(cfg: StackConfig) -> ManagedProcess:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{cfg.api_url}/readyz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    return ManagedProcess(
        "api", [sys.executable, "-m", "stenograph", "api"], cfg.state_dir,
        env=cfg.service_env(), ready=ready,
    )


def services(cfg: StackConfig) -> list[ManagedProcess]:
    """The processes this stack runs, in start order (external Kafka or Redis are not ours)."""
    infra = ([] if cfg.external_redis else [redis_process(cfg)]) + (
        [] if cfg.external_kafka else [kafka_process(cfg)])
    return [
        *infra,
        worker_process(cfg, "transcriber"),
        worker_process(cfg, "aggregator"),
        worker_process(cfg, "replayer"),
        worker_process(cfg, "webhooks"),
        worker_process(cfg, "bot-manager"),
        api_process(cfg),
    ]


def supervisor_process(cfg: StackConfig) -> ManagedProcess:
    return ManagedProcess("supervisor", [sys.executable, "-m", "stenograph", "supervise"],
                          cfg.state_dir, env=cfg.service_env())


def restartable(cfg: StackConfig, svc: ManagedProcess) -> ManagedProcess:
    """`svc` ready to be started again: Kafka's argv prepared, a worker's ready file gone."""
    if svc.name == "kafka":
        return kafka_process(cfg, kafka_node(cfg).prepare(ensure_libs()))
    _ready_file(cfg, svc.name).unlink(missing_ok=True)
    return svc


def up(cfg: StackConfig, *, log: Callable[[str], object] = print) -> None:
    """Start whatever is not running and return once everything is ready (idempotent)."""
    if not cfg.external_redis:
        if not shutil.which("redis-server") and not Path("/usr/bin/redis-server").exists():
            raise KafkaSetupError("redis-server not found: run `make setup`")
        redis = redis_process(cfg)
        _port_free_or_ours(redis, cfg.redis_port, "STENOGRAPH_REDIS_PORT")
        redis.start()
        redis.wait_ready(30)
    log(f"redis ready on {cfg.redis_url}" + (" (external)" if cfg.external_redis else ""))
    if not cfg.external_kafka:
        kafka = kafka_process(cfg)
        _port_free_or_ours(kafka, cfg.kafka_port, "STENOGRAPH_KAFKA_PORT")
        if kafka.pid() is None:
            argv = kafka_node(cfg).prepare(ensure_libs())
            kafka = kafka_process(cfg, argv)
            kafka.start()
        kafka.wait_ready(90)
    created = asyncio.run(_create_topics_retrying(cfg))
    log(f"kafka ready on {cfg.bootstrap}" + (" (external)" if cfg.external_kafka else "")
        + (f"; created {len(created)} topics" if created else ""))
    for svc in services(cfg):
        if svc.name in ("redis", "kafka"):
            continue
        if svc.name == "api":
            _port_free_or_ours(svc, cfg.api_port, "STENOGRAPH_API_PORT")
        if svc.pid() is None:
            _ready_file(cfg, svc.name).unlink(missing_ok=True)
        svc.start()
        svc.wait_ready(180)
        log(f"{svc.name} ready")
    supervisor_process(cfg).start()  # from now on a crashed service is started again
    log("supervisor running")


def _port_free_or_ours(proc: ManagedProcess, port: int, setting: str) -> None:
    """Refuse to start next to a foreign process on our port: we would talk to the wrong server."""
    if proc.pid() is None and port_open(port):
        raise KafkaSetupError(
            f"port {port} is already in use by a process this stack did not start "
            f"(state in {proc.state_dir}); stop it or choose another port with {setting}")


async def _create_topics_retrying(cfg: StackConfig, attempts: int = 60) -> list[str]:
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return await create_topics(cfg.bootstrap, cfg.topic_prefix)
        except Exception as exc:  # broker still starting: retry
            last = exc
            await asyncio.sleep(1)
    raise KafkaSetupError(f"cannot create topics on {cfg.bootstrap}: {last}")


def down(cfg: StackConfig) -> list[str]:
    stopped = []
    supervisor_process(cfg).stop()  # first: it would start again what is stopped next
    for svc in reversed(services(cfg)):
        if svc.stop():
            stopped.append(svc.name)
        _ready_file(cfg, svc.name).unlink(missing_ok=True)
    return stopped


@dataclass(frozen=True)
class PartStatus:
    name: str
    pid: int | None
    healthy: bool
    log: Path
    metrics: str | None  # its Prometheus metrics URL
    restarts: int = 0  # by the supervisor
    last_error: str | None = None  # how it last ended, and its log's last error line
    why: str | None = None  # not healthy: why not


def status(cfg: StackConfig) -> list[PartStatus]:
    """Each part of the stack: running, doing its work, where it logs and serves its metrics,
    and what the supervisor knows of its crashes."""
    records = read_records(cfg.state_dir)
    out = []
    for svc in [*services(cfg), supervisor_process(cfg)]:
        pid = svc.pid()
        why = "not running" if pid is None else _unhealthy(cfg, svc)
        rec = records.get(svc.name)
        out.append(PartStatus(svc.name, pid, why is None, svc.log_file, cfg.metrics_url(svc.name),
                              rec.restarts if rec else 0, rec.last_error if rec else None, why))
    return out


def _unhealthy(cfg: StackConfig, svc: ManagedProcess) -> str | None:
    """Why a running part is not doing its work: a worker whose consumer holds no partition or
    knows no lag (from its own metrics), a server not answering; None when it is."""
    if svc.name in METRICS_SLOTS:
        url = cfg.metrics_url(svc.name)
        return health.check_metrics(url) if url else None
    return None if svc.ready() else "not answering yet"
