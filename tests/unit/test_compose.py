"""The container form of the stack (compose/): structure checked without a Docker engine
(tests/compose runs it on the real one)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from stenograph.cli.app import app
from stenograph.compose.local.kafka import KAFKA_VERSION, KafkaNode

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"

INFRA = {"kafka", "redis"}
CLUSTER = {"kafka-2", "kafka-3"}  # brokers 2 and 3: the cluster profile
MONITORING = {"prometheus"}
STENOGRAPH = {"topics", "transcriber", "transcriber-gpu", "replayer", "aggregator", "gateway", "webhooks",
              "bot-manager", "api"}
LONG_RUNNING = STENOGRAPH - {"topics"}
CONSUMERS = LONG_RUNNING - {"gateway", "api"}  # healthy = consuming (`stenograph healthcheck`)
IMAGES_SH = COMPOSE_DIR / "images.sh"
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def cli_commands() -> set[str]:
    names = set()
    for c in app.registered_commands:
        assert c.callback is not None
        names.add(c.name or c.callback.__name__.replace("_", "-"))
    return names


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """depends_on in either form, as {service: condition}."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command")
    return cmd.split() if isinstance(cmd, str) else list(cmd or [])


def resolved(value: object) -> str:
    """A value with each ${VAR:-default} in it resolved to the default (no variables set)."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def image_default(service: dict[str, Any]) -> str:
    return resolved(service["image"])


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_base_image(steps: list[tuple[str, str]]) -> str:
    """The last FROM's image with ARG defaults substituted."""
    defaults = dict(a.split("=", 1) for w, a in steps if w == "ARG" and "=" in a)
    last_from = [a for w, a in steps if w == "FROM"][-1]
    return re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], last_from).split()[0]


def test_services_present(services: dict[str, Any]) -> None:
    assert set(services) == INFRA | CLUSTER | STENOGRAPH | MONITORING


def test_commands_are_cli_subcommands(services: dict[str, Any]) -> None:
    known = cli_commands()
    assert {"topics", "transcriber", "aggregator", "api"} <= known
    for name in STENOGRAPH:
        cmd = command(services[name])
        assert cmd, f"{name}: no command"
        assert cmd[0] in known, f"{name}: `stenograph {cmd[0]}` is not a CLI command ({sorted(known)})"
    assert command(services["topics"])[0] == "topics"
    for name in ("transcriber", "transcriber-gpu"):
        assert command(services[name]) == ["transcriber"]
    assert command(services["aggregator"]) == ["aggregator"]
    assert command(services["api"]) == ["api"]
    assert command(services["gateway"]) == ["gateway"]
    assert command(services["bot-manager"]) == ["bot-manager"]
    assert command(services["replayer"]) == ["replayer"]


def test_stenograph_services_reach_kafka_and_redis(services: dict[str, Any]) -> None:
    kafka_env = services["kafka"]["environment"]
    advertised = kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    for name in STENOGRAPH:
        env = services[name]["environment"]
        assert isinstance(env, dict), f"{name}: environment should be a mapping"
        assert f"PLAINTEXT://{resolved(env['KAFKA_BOOTSTRAP_SERVERS'])}" in advertised, name
        assert env["REDIS_URL"].startswith("redis://redis:6379/"), name
        assert "STENOGRAPH_TOPIC_PREFIX" in env, name
    for name in ("transcriber", "transcriber-gpu"):
        env = services[name]["environment"]
        assert "tiny.en" in str(env["STENOGRAPH_MODEL"])
        assert {"STENOGRAPH_DEVICE", "STENOGRAPH_COMPUTE_TYPE"} <= set(env)
    api_env = services["api"]["environment"]
    assert api_env["STENOGRAPH_API_HOST"] == "0.0.0.0"
    assert str(api_env["STENOGRAPH_API_PORT"]) == "8000"


def test_kafka_matches_local_broker(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    # built by compose/images.sh from the jars compose/local/kafka.py resolves (KAFKA_VERSION)
    assert image_default(kafka) == "stenograph/kafka:local"
    assert "stenograph.compose.local.kafka import ensure_libs" in IMAGES_SH.read_text()
    assert KAFKA_VERSION.startswith("4.")
    env = {k: resolved(v) for k, v in kafka["environment"].items()}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    listeners = env["KAFKA_LISTENERS"].split(",")
    assert "PLAINTEXT://:9092" in listeners and "CONTROLLER://:9093" in listeners
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR"):
        assert env[key] == "1", key
    # the broker settings the pipeline relies on equal those of the local process
    local = dict(
        line.split("=", 1)
        for line in KafkaNode(Path("/nonexistent"), 29092, 29093).properties().splitlines()
        if "=" in line and not line.startswith("#")
    )
    for prop in ("auto.create.topics.enable", "offset.metadata.max.bytes", "message.max.bytes"):
        assert env["KAFKA_" + prop.upper().replace(".", "_")] == local[prop], prop
    assert "healthcheck" in kafka


def test_gpu_transcriber_only_in_gpu_profile(services: dict[str, Any]) -> None:
    gpu = services["transcriber-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert services["prometheus"]["profiles"] == ["monitoring"]
    for name in CLUSTER:
        assert services[name]["profiles"] == ["cluster"]
    for name, svc in services.items():
        if name not in {"transcriber-gpu", "prometheus"} | CLUSTER:
            assert not svc.get("profiles"), f"{name} should run without a profile"
    assert gpu["environment"]["STENOGRAPH_DEVICE"] == "cuda"
    assert gpu["environment"]["STENOGRAPH_COMPUTE_TYPE"] == "float16"
    assert services["transcriber"]["environment"]["STENOGRAPH_DEVICE"] == "cpu"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    assert image_default(gpu) == "stenograph:local-gpu"
    assert image_default(services["transcriber"]) == "stenograph:local"


def test_depends_on(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        for dep, condition in depends_on(svc).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            assert condition in DEPENDS_CONDITIONS, f"{name} -> {dep}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} healthy: no healthcheck"
            if condition == "service_completed_successfully":
                assert str(services[dep].get("restart", "no")) == "no", f"{dep} is one-shot"
    assert depends_on(services["topics"]) == {"kafka": "service_healthy"}
    for name in LONG_RUNNING:
        deps = depends_on(services[name])
        assert deps.get("topics") == "service_completed_successfully", name
        assert deps.get("redis") == "service_healthy", name


def test_api_published_with_healthcheck(services: dict[str, Any]) -> None:
    from stenograph.api.routes.health import router

    api = services["api"]
    assert any(str(p).split(":")[-1] == "8000" for p in api["ports"])
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert "/readyz" in {getattr(r, "path", None) for r in router.routes}


def test_workers_are_healthy_when_consuming(services: dict[str, Any]) -> None:
    assert "healthcheck" in cli_commands()
    for name in CONSUMERS:
        assert services[name]["healthcheck"]["test"] == ["CMD", "stenograph", "healthcheck"], name
    assert services["gateway"]["healthcheck"]["test"][-2:] == ["--tcp", "9090"]


def test_dockerfiles() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert pyproject["project"]["scripts"]["stenograph"]
    script = IMAGES_SH.read_text()
    for path in (COMPOSE_DIR / "Dockerfile", COMPOSE_DIR / "Dockerfile.gpu"):
        assert f"-f compose/{path.name}" in script, f"{path.name} is not built by make images"
        steps = dockerfile_instructions(path)
        base = final_base_image(steps)
        if path.name == "Dockerfile":
            assert base == "stenograph/base:bookworm"  # the debootstrap base, no registry
        else:
            assert base.startswith("nvidia/cuda:12.") and "cudnn" in base and "runtime" in base, base
        assert ("ENTRYPOINT", '["stenograph"]') in steps, path
        users = [a for w, a in steps if w == "USER"]
        assert users and users[-1] not in {"root", "0"}, f"{path.name}: should run as a non-root user"
        assert any(w == "ENV" and "PYTHONUNBUFFERED=1" in a for w, a in steps), path
        runs = [a for w, a in steps if w == "RUN"]
        assert not any("[dev]" in r for r in runs), path
        # the dependencies are a layer of their own, before the code: a code change rebuilds in seconds
        deps = next(i for i, (w, a) in enumerate(steps) if w == "RUN" and "-r /tmp/requirements.txt" in a)
        code = next(i for i, (w, a) in enumerate(steps) if w == "RUN" and "--no-deps" in a and a.split(
            "&&")[0].rstrip().endswith(" ."))
        first_code_copy = min(i for i, (w, a) in enumerate(steps)
                              if w == "COPY" and a.startswith("stenograph/"))
        assert deps < first_code_copy < code, path
        copied = {a.split()[0].rstrip("/") for w, a in steps if w == "COPY" and not a.startswith("--")}
        assert "pyproject.toml" in copied
        assert packages <= copied, f"{path.name} does not copy {sorted(packages - copied)}"


def _compose() -> list[str] | None:
    """The compose command here: the plugin, or Debian's docker-compose (as compose/compose.sh)."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if not shutil.which(cmd[0]):
            continue
        try:
            if subprocess.run([*cmd, "version"], capture_output=True, timeout=30).returncode == 0:
                return cmd
        except (OSError, subprocess.TimeoutExpired):
            continue
    return None


def test_docker_compose_config_valid() -> None:
    cmd = _compose()
    if cmd is None:
        pytest.skip("neither `docker compose` nor docker-compose installed (`make images` installs one)")
    proc = subprocess.run(
        [*cmd, "-f", str(COMPOSE_FILE), "--profile", "gpu", "--profile", "monitoring", "config", "-q"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
