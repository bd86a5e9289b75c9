"""`stenograph webhooks`: a consumer group that turns lifecycle events and transcript changes into signed
POSTs to each tenant's webhook URL.

- meeting.status: every BotStatusChanged.
- transcript.finalized: the aggregator's TranscriptCompleted of a session's live run, then of
  its settled run, with the meeting's transcript as the read model then holds it.

Each delivery runs on its own, so one tenant's dead target delays no one else's; a partition's
offset is committed only past deliveries that have succeeded or used up their retries, so a
restart re-sends rather than loses (receivers de-duplicate by X-Stenograph-Delivery).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

import httpx
from aiokafka import TopicPartition
from redis.asyncio import Redis

from stenograph.commands import TargetError, check_url
from stenograph.readmodel import NO_WORDS, ReadStore
from stenograph.runtime import (
    CommonSettings,
    ConsumerConfig,
    GroupConsumer,
    Record,
    Step,
    log_context,
    metrics,
)
from stenograph.schemas import (
    LIFECYCLE,
    LIVE_RUN,
    SETTLED_RUN,
    TRANSCRIPT_CHANGES,
    BotStatusChanged,
    SealError,
    TranscriptCompleted,
    headers,
    open_secret,
)

log = logging.getLogger(__name__)


class WebhookSettings(CommonSettings):
    webhook_group_id: str = "stenograph-webhooks"
    webhook_allow_private: bool = False  # development only: lets URLs reach internal addresses
    webhook_retry_delays_s: str = "1,2,4,8,16"  # waits between attempts
    webhook_timeout_s: float = 10.0
    webhook_log_max: int = 1000

    @property
    def retry_delays(self) -> list[float]:
        return [float(x) for x in self.webhook_retry_delays_s.split(",") if x.strip()]


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


Job = Callable[[], Coroutine[Any, Any, None]]  # a delivery, started when called


async def _after(before: asyncio.Task[None] | None, job: Job) -> None:
    """`job` once `before` has ended, however it ended."""
    if before is not None:
        await asyncio.wait([before])
    await job()


class Deliverer(Protocol):
    def delivery(self, record: Record) -> Job | None: ...


class Dispatcher:
    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self.topics = settings.topics
        self.redis = Redis.from_url(settings.redis_url, decode_responses=True)
        self.store = ReadStore(self.redis, settings.redis_keys)
        self.http = httpx.AsyncClient(timeout=settings.webhook_timeout_s, follow_redirects=False)

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        s = self.settings
        config = ConsumerConfig(bootstrap=s.kafka_bootstrap_servers, group_id=s.webhook_group_id,
                                stage="webhooks", topics=self.topics, bases=(LIFECYCLE, TRANSCRIPT_CHANGES),
                                auto_offset_reset="latest", max_records=500, poll_timeout_s=0.5)
        try:
            await GroupConsumer(config, _Deliveries(self)).run(stop, on_ready)
        finally:
            await self.http.aclose()
            await self.redis.aclose()

    def delivery(self, record: Record) -> Job | None:
        job = self._job(record.event)
        return None if job is None else partial(_logged, record.event, job)

    def _job(self, event: Any) -> Job | None:
        if isinstance(event, BotStatusChanged):
            body = {"event": "meeting.status", "meeting": {
                "id": event.meeting_id, "platform": event.platform,
                "native_meeting_id": event.native_meeting_id},
                "data": {"status": str(event.state), "reason": event.reason, "sub_code": event.sub_code},
                "ts": _iso(event.event_time_ns)}
            return partial(self._send, event.tenant_id, "meeting.status", event.event_id, body)
        if isinstance(event, TranscriptCompleted) and event.run_id in (LIVE_RUN, SETTLED_RUN):
            return partial(self._final, event)
        return None

    async def _final(self, event: TranscriptCompleted) -> None:
        # the aggregator sends the completion once Redis holds the session's run
        # twice a session: its live finals are out, then its settled transcript is complete
        transcript = await self.store.transcript(event.tenant_id, event.meeting_id, event.run_id)
        if transcript is None:
            return  # erased meanwhile
        data = json.loads(transcript.model_dump_json(include={"status", "segments"}, exclude=NO_WORDS))
        body = {"event": "transcript.finalized", "meeting": {
            "id": event.meeting_id, "platform": transcript.platform,
            "native_meeting_id": transcript.native_meeting_id},
            "data": {**data, "run": event.run_id, "settled": event.run_id == SETTLED_RUN},
            "ts": _iso(event.event_time_ns)}
        suffix = "settled" if event.run_id == SETTLED_RUN else "final"
        await self._send(event.tenant_id, "transcript.finalized", f"{event.session_id}-{suffix}", body)

    async def _send(self, tenant: str, kind: str, delivery_id: str, body: dict[str, Any]) -> None:
        stored = await self.store.tenant(tenant) or {}
        url, sealed = stored.get("webhook_url"), stored.get("webhook_secret")
        if not url or not sealed:
            return
        data = json.dumps(body).encode()
        outcome: dict[str, Any] = {"delivery_id": delivery_id, "event": kind, "url": url, "attempts": 0,
                                   "status_code": None, "ok": False, "error": None}
        try:
            secret = open_secret(self.settings.master_key, sealed, tenant)
        except SealError:  # not retried: another key will not come by itself
            secret, outcome["error"] = "", "webhook secret does not open under STENOGRAPH_SECRET_KEY"
        delays = [0.0, *self.settings.retry_delays] if secret else []
        for delay in delays:
            await asyncio.sleep(delay)
            outcome["attempts"] += 1
            try:
                check_url(url, allow_private=self.settings.webhook_allow_private)
            except TargetError as exc:
                outcome["error"] = str(exc)
                break  # refused targets are not retried
            timestamp = int(time.time())
            try:
                r = await self.http.post(url, content=data,
                                         headers=headers(secret, timestamp, data, kind, delivery_id))
                outcome["status_code"] = r.status_code
                outcome["ok"] = 200 <= r.status_code < 300
                outcome["error"] = None if outcome["ok"] else f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                outcome["status_code"] = None  # this attempt got no answer: no earlier one's code
                outcome["error"] = f"{type(exc).__name__}: {exc}"
            if outcome["ok"]:
                break
        outcome["at_ns"] = time.time_ns()
        metrics.WEBHOOK_DELIVERIES.labels("delivered" if outcome["ok"] else "failed").inc()
        key = self.settings.redis_keys.webhook_log(tenant)
        pipe = self.redis.pipeline(transaction=True)
        pipe.lpush(key, json.dumps(outcome))
        pipe.ltrim(key, 0, self.settings.webhook_log_max - 1)
        await pipe.execute()
        if not outcome["ok"]:
            log.warning("webhook %s for %s gave up after %d attempt(s): %s", kind, tenant,
                        outcome["attempts"], outcome["error"])


async def _logged(event: Any, job: Job) -> None:
    """A delivery whose lines name its meeting and tenant."""
    with log_context(meeting_id=event.meeting_id, tenant_id=event.tenant_id):
        await job()


class _Deliveries(Step):
    """Deliveries run as tasks: a tenant's in order, one after another (a receiver never sees
    "completed" before "active"), different tenants' side by side, so a slow or dead target holds
    up only its own tenant. A partition is committed up to its oldest delivery still running,
    so a restart re-sends (same delivery id) rather than loses."""

    def __init__(self, dispatcher: Deliverer, max_in_flight: int = 1000) -> None:
        self.dispatcher = dispatcher
        self.max_in_flight = max_in_flight
        self.running: dict[TopicPartition, dict[int, asyncio.Task[None]]] = {}
        self.last: dict[str, asyncio.Task[None]] = {}  # each tenant's newest delivery
        self.failed: BaseException | None = None

    async def submit(self, record: Record) -> bool:
        job = self.dispatcher.delivery(record)
        if job is not None:
            tenant = record.event.tenant_id
            task = asyncio.create_task(_after(self.last.get(tenant), job))
            self.last[tenant] = task
            self.running.setdefault(record.tp, {})[record.offset] = task
            task.add_done_callback(partial(self._done, record.tp, record.offset, tenant))
        return False

    def _done(self, tp: TopicPartition, offset: int, tenant: str, task: asyncio.Task[None]) -> None:
        if self.last.get(tenant) is task:
            del self.last[tenant]
        if not task.cancelled() and task.exception() is not None:
            # kept among the running, so no commit (a revoke's, a stop's) passes it; poll raises
            # it and the run ends, and whoever reads the partition next delivers it again
            self.failed = self.failed or task.exception()
            return
        self.running.get(tp, {}).pop(offset, None)

    async def poll(self) -> bool:
        if self.failed is not None:
            raise self.failed
        return False

    def commit_point(self, tp: TopicPartition, processed: int) -> tuple[int, str] | None:
        running = self.running.get(tp)
        return (min(running) if running else processed), ""

    def backpressure(self) -> bool:
        return sum(len(r) for r in self.running.values()) >= self.max_in_flight

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        await self._cancel(partitions)  # their new owner re-sends them from the commit

    async def close(self) -> None:
        await self._cancel(set(self.running))

    async def _cancel(self, partitions: set[TopicPartition]) -> None:
        tasks = [t for tp in partitions for t in self.running.pop(tp, {}).values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
