"""`stenograph webhooks`: a consumer group that turns lifecycle and segment events into signed
POSTs to each tenant's webhook URL.

- meeting.status: every BotStatusChanged.
- transcript.finalized: a live session's end marker, once the aggregator has stored everything
  up to it, with the meeting's final transcript.

Offsets are committed after the batch's deliveries have succeeded or used up their retries, so
a restart re-sends rather than loses (receivers de-duplicate by X-Stenograph-Delivery).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from stenograph.readmodel.store import ReadStore
from stenograph.runtime.settings import CommonSettings
from stenograph.schemas.codec import codec
from stenograph.schemas.errors import CodecError
from stenograph.schemas.events import LIVE_RUN, SETTLED_RUN, BotStatusChanged, SegmentEvent
from stenograph.schemas.topics import LIFECYCLE, SEGMENTS
from stenograph.webhooks.signing import headers
from stenograph.webhooks.targets import TargetError, check_url

log = logging.getLogger(__name__)


class WebhookSettings(CommonSettings):
    webhook_group_id: str = "stenograph-webhooks"
    webhook_allow_private: bool = False  # development only: lets URLs reach internal addresses
    webhook_retry_delays_s: str = "1,2,4,8,16"  # waits between attempts
    webhook_timeout_s: float = 10.0
    webhook_log_max: int = 1000
    webhook_settle_timeout_s: float = 60.0  # wait for the aggregator before a final transcript
    aggregator_app_id: str = "stenograph-aggregator"

    @property
    def retry_delays(self) -> list[float]:
        return [float(x) for x in self.webhook_retry_delays_s.split(",") if x.strip()]


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


class Dispatcher:
    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self.topics = settings.topics
        self.redis = Redis.from_url(settings.redis_url, decode_responses=True)
        self.store = ReadStore(self.redis, settings.redis_keys)
        self.http = httpx.AsyncClient(timeout=settings.webhook_timeout_s, follow_redirects=False)

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        bootstrap = self.settings.kafka_bootstrap_servers
        consumer = AIOKafkaConsumer(self.topics.lifecycle, self.topics.segments,
                                    bootstrap_servers=bootstrap, group_id=self.settings.webhook_group_id,
                                    enable_auto_commit=False, auto_offset_reset="latest")
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await consumer.start()
        await admin.start()
        if on_ready is not None:
            on_ready()
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=500)
                jobs = []
                for tp, records in batch.items():
                    for r in records:
                        job = await self._delivery(admin, tp, r.offset, r.value)
                        if job is not None:
                            jobs.append(job)
                if jobs:
                    await asyncio.gather(*jobs)
                if batch:
                    await consumer.commit()
        finally:
            await consumer.stop()
            await admin.close()
            await self.http.aclose()
            await self.redis.aclose()

    async def _delivery(self, admin: AIOKafkaAdminClient, tp: TopicPartition, offset: int,
                        value: bytes | None) -> Any:
        base = LIFECYCLE if tp.topic == self.topics.lifecycle else SEGMENTS
        try:
            event = codec(base).decode(value)
        except CodecError:
            return None  # the aggregator parks it in the DLQ
        if isinstance(event, BotStatusChanged):
            body = {"event": "meeting.status", "meeting": {
                "id": event.meeting_id, "platform": event.platform,
                "native_meeting_id": event.native_meeting_id},
                "data": {"status": str(event.state), "reason": event.reason, "sub_code": event.sub_code},
                "ts": _iso(event.event_time_ns)}
            return self._send(event.tenant_id, "meeting.status", event.event_id, body)
        if (isinstance(event, SegmentEvent) and event.run_id in (LIVE_RUN, SETTLED_RUN)
                and event.segment_id == f"{event.session_id}-end"):
            return self._final(admin, tp, offset, event)
        return None

    async def _final(self, admin: AIOKafkaAdminClient, tp: TopicPartition, offset: int,
                     event: SegmentEvent) -> None:
        if not await self._aggregated(admin, tp, offset):
            log.warning("aggregator behind: final transcript of %s sent as it stands", event.meeting_id)
        # twice a session: its live finals are out, then its settled transcript is complete
        transcript = await self.store.transcript(event.tenant_id, event.meeting_id, event.run_id)
        if transcript is None:
            return  # erased meanwhile
        data = json.loads(transcript.model_dump_json(include={"status", "segments"}))
        body = {"event": "transcript.finalized", "meeting": {
            "id": event.meeting_id, "platform": transcript.platform,
            "native_meeting_id": transcript.native_meeting_id},
            "data": {**data, "run": event.run_id, "settled": event.run_id == SETTLED_RUN},
            "ts": _iso(event.event_time_ns)}
        suffix = "settled" if event.run_id == SETTLED_RUN else "final"
        await self._send(event.tenant_id, "transcript.finalized", f"{event.session_id}-{suffix}", body)

    async def _aggregated(self, admin: AIOKafkaAdminClient, tp: TopicPartition, offset: int) -> bool:
        group = f"{self.settings.topic_prefix}{self.settings.aggregator_app_id}"
        deadline = time.monotonic() + self.settings.webhook_settle_timeout_s
        while time.monotonic() < deadline:
            committed = await admin.list_consumer_group_offsets(group, partitions=[tp])
            meta = committed.get(tp)
            if meta is not None and meta.offset > offset:
                return True
            await asyncio.sleep(0.2)
        return False

    async def _send(self, tenant: str, kind: str, delivery_id: str, body: dict[str, Any]) -> None:
        stored = await self.store.tenant(tenant) or {}
        url, secret = stored.get("webhook_url"), stored.get("webhook_secret")
        if not url or not secret:
            return
        data = json.dumps(body).encode()
        outcome: dict[str, Any] = {"delivery_id": delivery_id, "event": kind, "url": url, "attempts": 0,
                                   "status_code": None, "ok": False, "error": None}
        delays = [0.0, *self.settings.retry_delays]
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
                outcome["error"] = f"{type(exc).__name__}: {exc}"
            if outcome["ok"]:
                break
        outcome["at_ns"] = time.time_ns()
        key = self.settings.redis_keys.webhook_log(tenant)
        pipe = self.redis.pipeline(transaction=True)
        pipe.lpush(key, json.dumps(outcome))
        pipe.ltrim(key, 0, self.settings.webhook_log_max - 1)
        await pipe.execute()
        if not outcome["ok"]:
            log.warning("webhook %s for %s gave up after %d attempt(s): %s", kind, tenant,
                        outcome["attempts"], outcome["error"])
