"""The Faust app, built by a factory; its agents only delegate to AggregatorHandlers."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import faust
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from stenograph.aggregate.handlers import AggregatorHandlers
from stenograph.aggregate.rebuild import ReadModelGuard
from stenograph.aggregate.settings import AggregatorSettings
from stenograph.aggregate.sink import RedisSink
from stenograph.aggregate.state import ERASED_TABLE, REVISIONS_TABLE, SPEAKING_TABLE, AggregatorState
from stenograph.aggregate.transport import AggregatorApp
from stenograph.aggregate.watchdog import GapDetector, StallDetector, lag
from stenograph.runtime import dlq_headers, meeting_key_records, metrics, read_range, retrying
from stenograph.schemas import (
    COMMANDS,
    KEYS,
    LIFECYCLE,
    MEETING_PARTITIONS,
    SEGMENTS,
    TENANTS,
    TRANSCRIPT_CHANGES,
    TRANSCRIPTS,
    CodecError,
    data_key_session,
    spec,
)

STAGE = "aggregator"
# the read model or the broker away for a while: the same event again, after a pause
TRANSIENT = (RedisConnectionError, RedisTimeoutError, KafkaConnectionError, KafkaTimeoutError)
Handle = Callable[[bytes | None, bytes | None], Awaitable[None]]
log = logging.getLogger(__name__)


def create_app(settings: AggregatorSettings) -> faust.App:
    app_id = f"{settings.topic_prefix}{settings.app_id}"
    # Faust's data directory (nothing kept there with in-memory tables); not the working directory
    datadir = Path(tempfile.gettempdir()) / "stenograph-faust" / app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = AggregatorApp(
        app_id,
        broker=f"kafka://{settings.kafka_bootstrap_servers.replace(',', ';kafka://')}",
        store="memory://",  # tables live in memory, recovered from their changelogs at start
        datadir=str(datadir),
        web_enabled=False,
        topic_allow_declare=False,  # topics come from the registry, created by `stenograph up`
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_every=100,
        broker_commit_interval=1.0,
        # a worker that died is out of the group after 10 s, not a minute: its meetings move to
        # the others (or to its own restart) that much sooner
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
    )
    topics = settings.topics

    def raw_topic(name: str) -> Any:
        return app.topic(name, key_serializer="raw", value_serializer="raw")

    segments_in = raw_topic(topics.segments)
    lifecycle_in = raw_topic(topics.lifecycle)
    commands_in = raw_topic(topics.commands)
    tenants_in = raw_topic(topics.tenants)
    keys_in = raw_topic(topics.keys)
    outputs = {base: raw_topic(topics.name(base)) for base in (TRANSCRIPTS, TRANSCRIPT_CHANGES, KEYS)}
    dlqs = {base: raw_topic(topics.dlq(base)) for base in (SEGMENTS, LIFECYCLE, COMMANDS, TENANTS, KEYS)}
    positions: dict[str, tuple[int, int]] = {}
    redis = Redis.from_url(settings.redis_url, decode_responses=True)

    async def dead_letter(base: str, key: bytes | None, value: bytes | None, exc: CodecError) -> None:
        partition, offset = positions.get(base, (-1, -1))
        headers = dlq_headers(exc, stage=STAGE, topic=topics.name(base), partition=partition,
                              offset=offset)
        fut = await dlqs[base].send(key=key, value=value, headers=headers)
        await fut  # durable before the poison message's offset is committed

    async def publish(base: str, key: bytes, value: bytes | None, partition: int | None = None, /) -> None:
        fut = await outputs[base].send(key=key, value=value, partition=partition)
        await fut  # acknowledged before the event that caused it is

    def table(base: str) -> Any:
        """A table whose changelog is the registry's state topic, co-partitioned with the meetings."""
        changelog = app.topic(topics.state(base), partitions=MEETING_PARTITIONS, compacting=True,
                              deleting=False)
        return app.Table(base, default=None, partitions=MEETING_PARTITIONS, changelog_topic=changelog)

    state = AggregatorState(revisions=table(REVISIONS_TABLE), speaking=table(SPEAKING_TABLE),
                            erased=table(ERASED_TABLE))
    async def key_sessions(meeting_id: str) -> list[str]:
        """The sessions with a data key of this meeting on the keys topic (erasures are rare,
        key records small)."""
        records = await meeting_key_records(settings.kafka_bootstrap_servers, topics.keys, meeting_id,
                                            timeout_s=60)
        return sorted({data_key_session(r.key)[1] for r in records if r.value is not None} - {""})

    handlers = AggregatorHandlers(RedisSink(redis, settings.redis_keys), dead_letter, publish,
                                  snapshot_interval_s=settings.snapshot_interval_s, state=state,
                                  key_sessions=key_sessions)

    applying = asyncio.Lock()  # events, or a rebuild of the read model: never both at once

    guard = ReadModelGuard(settings, redis)
    checked = asyncio.Event()  # no event is applied before the read model was checked once

    async def guard_read_model() -> None:
        async with applying:
            try:
                await retrying(guard.check, transient=TRANSIENT, what="aggregator read model check")
                if not checked.is_set():
                    log.info("aggregator: read model checked; applying events")
                checked.set()
            except Exception:  # a timer or task that raises stops the app; this one tries again
                log.exception("aggregator: the read model check failed; it runs again")

    @app.task
    async def read_model_at_start() -> None:
        await guard_read_model()

    @app.timer(interval=settings.read_model_check_s)
    async def read_model_still_there() -> None:
        await guard_read_model()

    @app.timer(interval=1.0)
    async def snapshots() -> None:
        async with applying:  # never beside an event, an erasure or a rebuild
            try:
                await retrying(handlers.flush_snapshots, transient=TRANSIENT, what="aggregator snapshots")
            except Exception:  # a timer that raises stops the app; this one waits for its next tick
                log.exception("aggregator: snapshots failed; they are still due")

    inputs = {t.get_topic_name(): base for t, base in ((segments_in, SEGMENTS), (lifecycle_in, LIFECYCLE),
                                                      (commands_in, COMMANDS), (tenants_in, TENANTS),
                                                      (keys_in, KEYS))}
    compacted = {base: spec(base).compacted for base in inputs.values()}
    watch = StallDetector(settings.stall_after_s)
    gaps = GapDetector()
    admin: list[AIOKafkaAdminClient] = []  # started on first use

    async def group_offsets() -> dict[tuple[str, int], int]:
        """The group's committed offsets."""
        if not admin:
            client = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
            await client.start()  # kept only once started: a failed start is tried again
            admin.append(client)
        offsets = await admin[0].list_consumer_group_offsets(app_id)
        return {(tp.topic, tp.partition): om.offset for tp, om in offsets.items() if om.offset >= 0}

    async def _assigned(sender: Any, *_: Any, **__: Any) -> None:
        gaps.forget()  # a partition may have moved on under another worker meanwhile

    app.on_partitions_assigned.connect(_assigned)  # type: ignore[arg-type]  # faust's signal stubs

    @app.timer(interval=5.0)
    async def progress() -> None:
        """The consumer's lag, and a seek back to the committed offsets when it has stalled
        (aggregate/watchdog.py says why). A timer that raises stops the app: this one logs and
        asks again."""
        try:
            await _progress()
        except (KafkaError, OSError) as exc:
            log.warning("aggregator: consumer progress not known (%s); asked again", exc)
        except Exception:
            log.exception("aggregator: consumer progress not known; asked again")

    async def _progress() -> None:
        now = time.monotonic()
        if app.rebalancing:  # until its tables are recovered: nothing is delivered yet, rightly
            watch.reset(now)
            return
        tps = {tp for tp in app.consumer.assignment() if tp.topic in inputs}
        if not tps:
            return
        group = await group_offsets()
        ends = {(tp.topic, tp.partition): end for tp, end in (await app.consumer.highwaters(*tps)).items()
                if end is not None}
        committed = {tp: offset for tp, offset in group.items() if tp in ends}
        behind = lag(committed, ends)
        for (topic, partition), records in behind.items():
            metrics.CONSUMER_LAG.labels(STAGE, inputs[topic], str(partition)).set(records)
        # events held back until the read model is checked are not a stall
        busy = applying.locked() or not checked.is_set()
        if watch.stalled(now, committed, ends, busy=busy) and not app.rebalancing:
            log.warning("aggregator: partitions behind their ends and nothing applied for %.0f s (%s); "
                        "seeking back to the committed offsets", settings.stall_after_s,
                        ", ".join(f"{t}:{p} {n} behind" for (t, p), n in sorted(behind.items()) if n))
            app.consumer.resume_partitions(tps)
            app.flow_control.resume()
            app.consumer.resume_flow()
            await app.consumer.perform_seek()
            gaps.forget()

    async def apply_one(base: str, partition: int, offset: int, key: bytes | None,
                        value: bytes | None, handle: Handle) -> None:
        positions[base] = (partition, offset)
        async with applying:
            await retrying(partial(handle, key, value), transient=TRANSIENT, what=f"aggregator {base}")

    async def fill(base: str, tp: TopicPartition, first: int, last: int, handle: Handle) -> None:
        """The records Faust skipped, read straight from the partition and applied in order
        (every handler is idempotent, so one that did arrive once is harmless)."""
        async for batch in read_range(settings.kafka_bootstrap_servers, tp, first, last, timeout_s=60):
            for record in batch:
                await apply_one(base, tp.partition, record.offset, record.key, record.value, handle)

    async def apply(base: str, stream: Any, handle: Handle) -> None:
        """Each event applied, then acknowledged: a transient Redis or Kafka error is retried on
        the same event; any other error stops the worker, so that its restart reads the event
        again instead of moving on without it."""
        manual = stream.noack()
        async for event in manual.events():
            await checked.wait()
            message = event.message
            # a compacted topic has holes by design: nothing was skipped there
            skipped = (None if compacted[base] else
                       gaps.delivered((message.topic, message.partition), message.offset))
            try:
                if skipped is not None:  # watchdog.GapDetector says why
                    log.warning("aggregator: %s:%d offsets %d..%d never reached the agent; "
                                "read from Kafka and applied first", base, message.partition, *skipped)
                    await fill(base, TopicPartition(message.topic, message.partition), *skipped, handle)
                await apply_one(base, message.partition, message.offset, event.key, event.value, handle)
            except Exception as exc:
                log.exception("aggregator: %s at %s:%d not applied; stopping", base,
                              event.message.partition, event.message.offset)
                await app.crash(exc)
                raise
            await manual.ack(event)

    @app.agent(segments_in)
    async def segments(stream: Any) -> None:
        await apply(SEGMENTS, stream, handlers.on_segment)

    @app.agent(lifecycle_in)
    async def lifecycle(stream: Any) -> None:
        await apply(LIFECYCLE, stream, handlers.on_lifecycle)

    @app.agent(commands_in)
    async def commands(stream: Any) -> None:
        await apply(COMMANDS, stream, handlers.on_command)

    @app.agent(tenants_in)
    async def tenants(stream: Any) -> None:
        await apply(TENANTS, stream, handlers.on_tenant)

    @app.agent(keys_in)
    async def keys(stream: Any) -> None:
        await apply(KEYS, stream, handlers.on_key)

    return app
