"""The `stenograph` command line."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from stenograph.runtime import MissingSetting, logs

if TYPE_CHECKING:
    from stenograph.runtime import CommonSettings

app = typer.Typer(help="Stenograph: meeting transcription on Kafka.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 1


@app.callback()
def _options(
    log_format: Annotated[str | None, typer.Option(
        "--log-format", help="text, or json: one JSON object per line with the meeting and tenant "
        "ids (also STENOGRAPH_LOG_FORMAT; the processes a command starts inherit it)")] = None,
) -> None:
    if log_format is not None:
        os.environ["STENOGRAPH_LOG_FORMAT"] = log_format
    fmt = os.environ.get("STENOGRAPH_LOG_FORMAT", "text")
    if fmt not in logs.FORMATS:
        raise _fail(EXIT_BAD_INPUT, f"log format {fmt!r} (--log-format / STENOGRAPH_LOG_FORMAT): "
                    f"one of {', '.join(logs.FORMATS)}")


def _log_format() -> logs.LogFormat:
    return "json" if os.environ.get("STENOGRAPH_LOG_FORMAT", "text") == "json" else "text"


def _logging(level: str = "INFO") -> None:
    logs.configure(os.environ.get("STENOGRAPH_LOG_LEVEL", level), _log_format())


def _fail(code: int, message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(code)


def _metrics(settings: CommonSettings) -> None:
    """Serve the process's Prometheus metrics where its settings say (a port in use: exit 1)."""
    from stenograph.runtime import metrics

    try:
        metrics.serve_metrics(settings.metrics_port, settings.metrics_host)
    except OSError as exc:
        raise _fail(EXIT_UNAVAILABLE, f"STENOGRAPH_METRICS_PORT {settings.metrics_port}: {exc}") from None


def _kafka_unavailable(settings: CommonSettings, exc: Exception) -> str:
    """The one-line reason, naming the setting to fix (inside a container, `localhost` is the
    container itself, not the broker)."""
    return f"Kafka unavailable at {settings.kafka_bootstrap_servers} (KAFKA_BOOTSTRAP_SERVERS): {exc}"


def _mark_ready() -> None:
    if ready := os.environ.get("STENOGRAPH_READY_FILE"):
        Path(ready).parent.mkdir(parents=True, exist_ok=True)
        Path(ready).write_text(str(os.getpid()))


# -- local stack -------------------------------------------------------------------


@app.command()
def up() -> None:
    """Start the local stack (Redis, Kafka, transcriber, aggregator, API); idempotent."""
    from stenograph.compose import StackConfig
    from stenograph.compose import up as stack_up
    from stenograph.schemas import StenographError

    cfg = StackConfig.from_env()
    try:
        stack_up(cfg, log=lambda m: err.print(m, highlight=False))
    except (StenographError, RuntimeError, TimeoutError) as exc:
        raise _fail(EXIT_UNAVAILABLE, str(exc)) from None
    from stenograph.cli.devkey import ensure_dev_key

    try:
        key = asyncio.run(ensure_dev_key(cfg.settings(), cfg.state_dir))
    except (OSError, TimeoutError) as exc:
        raise _fail(EXIT_UNAVAILABLE, f"no development API key: {exc}") from None
    out.print(f"stack up: API {cfg.api_url} (docs {cfg.api_url}/docs), state in {cfg.state_dir}")
    out.print(f"API key of tenant {cfg.settings().tenant} (X-API-Key): {key}", highlight=False)


@app.command()
def down() -> None:
    """Stop the local stack."""
    from stenograph.compose import StackConfig
    from stenograph.compose import down as stack_down

    stopped = stack_down(StackConfig.from_env())
    out.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object: each part, its health "
                                          "and its metrics URL")] = False,
) -> None:
    """Show each part of the local stack: doing its work or not (exit 1 if one is not), its
    restarts by the supervisor and how it last ended."""
    import json

    from stenograph.compose import StackConfig
    from stenograph.compose import status as stack_status

    rows = stack_status(StackConfig.from_env())
    if as_json:
        print(json.dumps({"parts": [
            {"name": r.name, "pid": r.pid, "healthy": r.healthy, "why": r.why, "log": str(r.log),
             "metrics": r.metrics, "restarts": r.restarts, "last_error": r.last_error}
            for r in rows]}))
    else:
        from rich.table import Column

        table = Table(Column("part", min_width=11, no_wrap=True), "pid", "health", "restarts",
                      Column("last error", overflow="fold"), Column("metrics", overflow="fold"),
                      Column("log", overflow="fold"))
        for r in rows:
            health = ("[green]healthy[/]" if r.healthy
                      else f"[yellow]{r.why}[/]" if r.pid else "[red]down[/]")
            table.add_row(r.name, str(r.pid or "-"), health, str(r.restarts), r.last_error or "-",
                          r.metrics or "-", str(r.log))
        out.print(table)
    if not all(r.healthy for r in rows):
        raise typer.Exit(EXIT_UNAVAILABLE)


@app.command(hidden=True)
def supervise() -> None:
    """Restart the local stack's crashed services with backoff (`stenograph up` starts this)."""
    from stenograph.compose import supervise as run_supervisor

    run_supervisor()


@app.command()
def healthcheck(
    tcp: Annotated[int | None, typer.Option("--tcp", help="healthy when this local port accepts "
                                            "connections (servers with no consumer: the gateway)")] = None,
) -> None:
    """Exit 0 when this container's service is doing its work: its consumer holds partitions with a
    known lag (read from its own STENOGRAPH_METRICS_PORT), or --tcp PORT accepts connections."""
    from stenograph.runtime import CommonSettings, health

    if tcp is not None:
        reason = health.check_tcp(tcp)
    else:
        port = CommonSettings().metrics_port
        if port is None:
            raise _fail(EXIT_BAD_INPUT, "STENOGRAPH_METRICS_PORT is not set: no metrics to judge by")
        reason = health.check_metrics(f"http://127.0.0.1:{port}/metrics")
    if reason:
        raise _fail(EXIT_UNAVAILABLE, reason)


@app.command()
def topics(
    wait: Annotated[float, typer.Option("--wait", min=0, help="seconds to keep trying while the "
                                        "brokers start (a cluster's others may come later)")] = 0,
) -> None:
    """Create every registry topic that does not exist yet."""
    import time

    from aiokafka.errors import KafkaConnectionError, KafkaError

    from stenograph.runtime import CommonSettings, create_topics
    from stenograph.schemas import StenographError

    s = CommonSettings()
    deadline = time.monotonic() + wait
    while True:
        try:
            created = asyncio.run(create_topics(
                s.kafka_bootstrap_servers, s.topic_prefix, replication_factor=s.kafka_replication_factor,
                min_insync_replicas=s.kafka_min_insync_replicas))
            break
        except KafkaError as exc:
            if time.monotonic() < deadline:
                time.sleep(2)
                continue
            if isinstance(exc, KafkaConnectionError):
                raise _fail(EXIT_UNAVAILABLE, _kafka_unavailable(s, exc)) from None
            raise _fail(EXIT_UNAVAILABLE, f"cannot create topics with replication factor "
                        f"{s.kafka_replication_factor} (STENOGRAPH_KAFKA_REPLICATION_FACTOR) on "
                        f"{s.kafka_bootstrap_servers}: {type(exc).__name__}: {exc}") from None
        except StenographError as exc:
            raise _fail(EXIT_UNAVAILABLE, str(exc)) from None
    out.print(f"created {len(created)} topic(s)" + (": " + ", ".join(created) if created else ""))


key_app = typer.Typer(help="Tenant API keys.", no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("create")
def key_create(
    tenant: Annotated[str, typer.Option(help="the tenant the key acts for")],
    label: Annotated[str, typer.Option(help="a note to recognize the key by")] = "",
) -> None:
    """Mint an API key for a tenant and print it (shown once; only its hash is kept)."""
    from aiokafka.errors import KafkaError

    from stenograph.commands import create_key
    from stenograph.runtime import CommonSettings

    s = CommonSettings()
    try:
        minted = asyncio.run(create_key(s, tenant, label))
    except ValueError as exc:
        raise _fail(EXIT_BAD_INPUT, str(exc)) from None
    except (KafkaError, OSError) as exc:
        raise _fail(EXIT_UNAVAILABLE, _kafka_unavailable(s, exc)) from None
    err.print(f"key {minted.event.key_id} for tenant {tenant}; store it now, it is not shown again:",
              highlight=False)
    out.print(minted.key, highlight=False, markup=False)


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="the 12 hex digits after stg_ in the key")],
    tenant: Annotated[str, typer.Option(help="the key's tenant")],
) -> None:
    """Revoke an API key by its id."""
    from aiokafka.errors import KafkaError

    from stenograph.commands import revoke_key
    from stenograph.runtime import CommonSettings

    s = CommonSettings()
    try:
        asyncio.run(revoke_key(s, tenant, key_id))
    except ValueError as exc:
        raise _fail(EXIT_BAD_INPUT, str(exc)) from None
    except (KafkaError, OSError) as exc:
        raise _fail(EXIT_UNAVAILABLE, _kafka_unavailable(s, exc)) from None
    out.print(f"revoked key {key_id}", highlight=False)


# -- capture -----------------------------------------------------------------------


@app.command()
def stream(
    file: Annotated[Path, typer.Argument(help="any common media file: wav, flac, mp3, ogg, webm, mp4")],
    meeting: Annotated[str, typer.Option(help="PLATFORM/NATIVE_ID, e.g. google_meet/abc-defg-hij")],
    realtime: Annotated[bool, typer.Option(help="pace frames at wall-clock speed")] = False,
    frame_ms: Annotated[int, typer.Option(help="frame duration, 20-200 ms")] = 100,
    language: Annotated[str | None, typer.Option(help="fix the language (default: detect)")] = None,
    task: Annotated[str | None, typer.Option(help="transcribe | translate")] = None,
) -> None:
    """Publish a media file's audio as one capture session of a meeting."""
    from aiokafka.errors import KafkaError

    from stenograph.capture import MediaError, stream_file
    from stenograph.commands import TASKS
    from stenograph.runtime import CommonSettings
    from stenograph.schemas import language_problem, parse_meeting_ref

    _logging("WARNING")
    try:
        ref = parse_meeting_ref(meeting)
    except ValueError as exc:
        raise _fail(EXIT_BAD_INPUT, str(exc)) from None
    if not 20 <= frame_ms <= 200:
        raise _fail(EXIT_BAD_INPUT, f"--frame-ms {frame_ms}: must be 20..200")
    if language is not None and (problem := language_problem(language)) is not None:
        raise _fail(EXIT_BAD_INPUT, f"--language: {problem}")
    if task is not None and task not in TASKS:
        raise _fail(EXIT_BAD_INPUT, f"--task {task}: must be one of {', '.join(TASKS)}")
    s = CommonSettings()
    try:
        outcome = asyncio.run(stream_file(file, ref, s, realtime=realtime,
                                          frame_ms=frame_ms, language=language, task=task))
    except MediaError as exc:
        raise _fail(EXIT_BAD_INPUT, str(exc)) from None
    except (KafkaError, OSError) as exc:
        raise _fail(EXIT_UNAVAILABLE, _kafka_unavailable(s, exc)) from None
    r = outcome.result
    out.print(f"meeting {ref} id={outcome.meeting_id} session={outcome.session_id}: "
              f"{r.frames} frames, {r.audio_seconds:.1f} s published; "
              f"last frame acked at {r.last_frame_acked_ns}", highlight=False)


@app.command()
def demo(
    file: Annotated[Path, typer.Argument(help="a recording to stream through the running stack")],
    meeting: Annotated[str, typer.Option(help="PLATFORM/NATIVE_ID")] = "google_meet/demo-meeting",
    timeout: Annotated[float, typer.Option(help="seconds to wait for the transcript")] = 120.0,
) -> None:
    """Stream a recording through the running stack and print the transcript the API returns."""
    from stenograph.capture import MediaError
    from stenograph.cli.demo import run_demo
    from stenograph.compose import StackConfig
    from stenograph.schemas import parse_meeting_ref

    cfg = StackConfig.from_env()
    try:
        ref = parse_meeting_ref(meeting)
        text = asyncio.run(run_demo(file, ref, cfg, timeout=timeout))
    except (ValueError, MediaError) as exc:
        raise _fail(EXIT_BAD_INPUT, str(exc)) from None
    except TimeoutError as exc:
        raise _fail(EXIT_UNAVAILABLE, str(exc)) from None
    out.print(text, highlight=False)
    out.print(f"\nAPI docs: {cfg.api_url}/docs   transcript JSON: "
              f"{cfg.api_url}/transcripts/{ref.platform}/{ref.native_meeting_id}\n"
              "stop the stack with: make down", highlight=False)


@app.command()
def replay(
    meeting: Annotated[str, typer.Argument(help="PLATFORM/NATIVE_ID")],
    model: Annotated[str, typer.Option(help="tiny.en, base, a hub name or a model directory")] = "tiny.en",
    language: Annotated[str | None, typer.Option(help="language code; default: detect")] = None,
    task: Annotated[str, typer.Option(help="transcribe | translate")] = "transcribe",
    wait: Annotated[bool, typer.Option(help="follow the run's progress until it ends")] = True,
) -> None:
    """Re-run a meeting's stored audio through a model as a new transcript version."""
    from stenograph.cli.replays import follow_run, start_replay
    from stenograph.commands import ReplayRefused
    from stenograph.runtime import CommonSettings
    from stenograph.schemas import parse_meeting_ref

    _logging("WARNING")
    try:
        ref = parse_meeting_ref(meeting)
        settings = CommonSettings()
        ticket = asyncio.run(start_replay(settings, ref, model, language, task))
    except (ValueError, ReplayRefused) as exc:
        raise _fail(EXIT_BAD_INPUT, str(exc)) from None
    run = ticket.run
    out.print(f"{'following existing' if ticket.existing else 'started'} run {run['run_id']} of {ref} "
              f"(model {model}, language {language or 'auto'}, task {task})", highlight=False)
    if not wait:
        return
    final = asyncio.run(follow_run(settings, ticket, err))
    if final["state"] != "completed":
        raise _fail(EXIT_UNAVAILABLE, f"run {run['run_id']} {final['state']}: {final.get('error')}")
    out.print(f"run {run['run_id']} completed: {final['segments']} segments from "
              f"{final['audio_s']:.0f} s of audio; read it with "
              f"GET /transcripts/{ref.platform}/{ref.native_meeting_id}?run={run['run_id']}",
              highlight=False)


@app.command()
def rebuild() -> None:
    """Restore the whole Redis read model from Kafka (after Redis lost its data, say)."""
    from stenograph.aggregate import rebuild_read_model
    from stenograph.runtime import CommonSettings

    _logging("WARNING")
    counts = asyncio.run(rebuild_read_model(CommonSettings()))
    out.print("rebuilt the read model: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
              highlight=False)


# -- services ----------------------------------------------------------------------


def _run_until_signal(coro_factory: object) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await coro_factory(stop)  # type: ignore[operator]

    asyncio.run(main())


@app.command()
def transcriber() -> None:
    """Run a transcriber worker (consumer group on the audio topic)."""
    from stenograph.transcribe import (
        FasterWhisperTranscriber,
        ModelError,
        TranscriberSettings,
        TranscriberWorker,
    )

    _logging()
    s = TranscriberSettings()
    try:
        model = FasterWhisperTranscriber(s.model, s.device, s.compute_type, s.cpu_threads)
    except ModelError as exc:
        raise _fail(EXIT_BAD_INPUT, str(exc)) from None
    worker = TranscriberWorker(s, model)
    _metrics(s)
    _run_until_signal(lambda stop: worker.run(stop, on_ready=_mark_ready))


@app.command()
def replayer() -> None:
    """Run the replayer (ReplayRequested commands -> new transcript runs from stored audio)."""
    from stenograph.transcribe import FasterWhisperTranscriber, ReplayWorker, TranscriberSettings

    _logging()
    s = TranscriberSettings()

    def load(name: str) -> FasterWhisperTranscriber:
        return FasterWhisperTranscriber(name, s.device, s.compute_type, s.cpu_threads)

    worker = ReplayWorker(s, load)
    _metrics(s)
    _run_until_signal(lambda stop: worker.run(stop, on_ready=_mark_ready))


@app.command()
def aggregator() -> None:
    """Run the Faust aggregator (segments + lifecycle -> Redis and the transcripts topic)."""
    import faust

    from stenograph.aggregate import AggregatorSettings, create_app

    _logging()
    s = AggregatorSettings()
    faust_app = create_app(s)
    _metrics(s)

    @faust_app.task
    async def ready() -> None:
        _mark_ready()

    faust_app.conf.loghandlers = [logs.handler(_log_format())]  # the Worker takes them from there
    faust.Worker(faust_app, loglevel=s.log_level, quiet=True,
                 logging_config=logs.faust_logging(s.log_level)).execute_from_commandline()


@app.command()
def gateway(
    port: Annotated[int | None, typer.Option(help="WebSocket port (default 9090)")] = None,
    tenant: Annotated[str | None, typer.Option(
        help="serve clients that send no API key as this tenant (trusted networks only)")] = None,
    max_connections: Annotated[int | None, typer.Option(
        min=1, help="streams served at once; a client beyond them is told WAIT (default 64)")] = None,
) -> None:
    """Serve the WhisperLive protocol: clients stream audio in and get their segments back."""
    from stenograph.capture import Gateway, GatewaySettings
    from stenograph.schemas import check_tenant

    _logging()
    s = GatewaySettings()
    if port is not None:
        s.gateway_port = port
    if tenant is not None:
        s.gateway_tenant = tenant
    if max_connections is not None:
        s.gateway_max_connections = max_connections
    if s.gateway_tenant is not None:
        try:
            check_tenant(s.gateway_tenant)
        except ValueError as exc:
            raise _fail(EXIT_BAD_INPUT, str(exc)) from None
        logging.getLogger(__name__).warning(
            "clients without an API key are served as tenant %s: use on trusted networks only",
            s.gateway_tenant)
    _metrics(s)
    _run_until_signal(lambda stop: Gateway(s).run(stop, on_ready=_mark_ready))


@app.command()
def webhooks() -> None:
    """Deliver webhooks: signed POSTs on status changes and final transcripts, with retries."""
    from stenograph.webhooks import Dispatcher, WebhookSettings

    _logging()
    s = WebhookSettings()
    _metrics(s)
    _run_until_signal(lambda stop: Dispatcher(s).run(stop, on_ready=_mark_ready))


@app.command()
def bot(
    request: Annotated[str, typer.Option(help="the JoinRequested, as JSON of its fields")],
    managed: Annotated[bool, typer.Option(help="run under the bot manager (leave when it goes)")] = False,
) -> None:
    """Run one bot: join the meeting in Chromium and stream its audio (the manager starts these)."""
    from stenograph.capture import BotSettings, parse_request, run_bot

    _logging()
    try:
        join = parse_request(request)
    except (ValueError, TypeError) as exc:
        raise _fail(EXIT_BAD_INPUT, f"bad --request: {exc}") from None
    with logs.log_context(meeting_id=join.meeting_id, tenant_id=join.tenant_id):  # one meeting a bot
        raise typer.Exit(asyncio.run(run_bot(join, BotSettings(), managed=managed)))


@app.command("bot-manager")
def bot_manager() -> None:
    """Run the bot manager: join requests on the commands topic become bots."""
    from stenograph.capture import BotSettings, ProcessLauncher, run_manager

    _logging()
    s = BotSettings()
    _metrics(s)
    _run_until_signal(lambda stop: run_manager(s, ProcessLauncher(), stop, on_ready=_mark_ready))


@app.command()
def join(
    url: Annotated[str, typer.Argument(help="the meeting link (Google Meet, Teams or Zoom)")],
    name: Annotated[str, typer.Option(help="the bot's name in the meeting")] = "Stenograph",
    language: Annotated[str | None, typer.Option(help="fix the language (default: detected)")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for active or failed")] = 600.0,
) -> None:
    """Send a bot to a meeting and follow it until it is in the call (exit 0) or has failed (1)."""
    from stenograph.cli.bots import join_and_follow, join_request
    from stenograph.runtime import CommonSettings
    from stenograph.schemas import BotState, BotStatusChanged

    s = CommonSettings()
    try:
        target, request = join_request(url, s.tenant, name, language, {})
    except ValueError as exc:
        raise _fail(EXIT_BAD_INPUT, str(exc)) from None

    def show(event: BotStatusChanged) -> None:
        detail = f" ({event.sub_code})" if event.sub_code else ""
        out.print(f"{event.state}: {event.reason}{detail}", markup=False, highlight=False)

    out.print(f"bot requested for {target.platform}/{target.native_meeting_id} "
              f"(meeting {request.meeting_id})", markup=False, highlight=False)
    try:
        last = asyncio.run(join_and_follow(s, request, timeout, show))
    except OSError as exc:
        raise _fail(EXIT_UNAVAILABLE, f"Kafka unreachable: {exc}") from None
    if last is None:
        raise _fail(EXIT_UNAVAILABLE, f"no answer from a bot within {timeout:.0f} s (is the bot manager up?)")
    if last.state != BotState.ACTIVE:
        raise _fail(EXIT_UNAVAILABLE, f"the bot {last.state}: {last.reason}")


@app.command()
def api() -> None:
    """Serve the HTTP API."""
    import uvicorn

    from stenograph.api import ApiSettings, create_app, redact_server_logs

    _logging()
    redact_server_logs()
    s = ApiSettings()
    # log_config=None: uvicorn's lines go through our handlers, and its filter, unconfigured
    uvicorn.run(create_app(s), host=s.api_host, port=s.api_port, log_level="info", log_config=None)


def _setting_error(exc: ValidationError) -> str:
    """One line naming each bad setting (as its environment variable) and why."""
    parts = []
    for e in exc.errors():
        where = "_".join(str(x) for x in e["loc"])
        # a field's loc is its name (STENOGRAPH_ + it, upper-cased), an alias's the variable itself
        name = where if where.isupper() else f"STENOGRAPH_{where.upper()}"
        parts.append(f"{name}: {e['msg']}" if where else str(e["msg"]))
    return f"bad setting ({exc.title}): " + "; ".join(parts)


def main() -> None:
    try:
        app()
    except ValidationError as exc:  # a setting from the environment, not a traceback
        err.print(f"error: {_setting_error(exc)}", markup=False, highlight=False)
        sys.exit(EXIT_BAD_INPUT)
    except MissingSetting as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(EXIT_BAD_INPUT)
