"""The CLI side of a replay: start it, then follow its progress with a bar and an ETA."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from stenograph.commands import ReplayTicket, request_replay, validate_options
from stenograph.readmodel import ReadStore
from stenograph.runtime import CommonSettings, plain_consumer, reliable_producer
from stenograph.schemas import MeetingRef

ENDED = ("completed", "failed")


async def start_replay(
    settings: CommonSettings, ref: MeetingRef, model: str, language: str | None, task: str
) -> ReplayTicket:
    validate_options(model, language, task)  # before any connection is opened
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    producer = reliable_producer(settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        async with plain_consumer(settings.kafka_bootstrap_servers) as offsets:
            return await request_replay(
                store=ReadStore(redis, settings.redis_keys), producer=producer, offsets=offsets,
                topics=settings.topics, tenant=settings.tenant, platform=ref.platform,
                native_meeting_id=ref.native_meeting_id, model=model, language=language, task=task,
            )
    finally:
        await producer.stop()
        await redis.aclose()


async def follow_run(settings: CommonSettings, ticket: ReplayTicket, console: Console) -> dict[str, Any]:
    """Poll the read model until the run ends; returns its final entry."""
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    store = ReadStore(redis, settings.redis_keys)
    run_id = ticket.run["run_id"]
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[eta]}"), TextColumn("{task.fields[state]}"))
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(f"replay {run_id}", total=100.0, eta="", state="requested")
            while True:
                runs = {r["run_id"]: r for r in await store.runs(settings.tenant, ticket.meeting_id)}
                run = runs.get(run_id, ticket.run)
                eta = f"ETA {run['eta_s']:.0f} s" if run.get("eta_s") is not None else ""
                bar.update(task, completed=100.0 * run.get("progress", 0.0), eta=eta, state=run["state"])
                if run["state"] in ENDED:
                    return run
                await asyncio.sleep(0.5)
    finally:
        await redis.aclose()
