"""Kafka plumbing shared by the stages: producers, topic creation, the dead-letter queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code
from aiokafka.partitioner import DefaultPartitioner

from stenograph.schemas import MEETING_PARTITIONS, CodecError, TopicLayoutError, all_topics

log = logging.getLogger(__name__)


def reliable_producer(bootstrap: str, *, max_request_size: int = 8_454_144) -> AIOKafkaProducer:
    """Idempotent, acks=all: an acknowledged message is durable and never duplicated by retries."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_request_size=max_request_size,
    )


def meeting_partition(meeting_id: str, partitions: int = MEETING_PARTITIONS) -> int:
    """The partition the producers' default partitioner gives a meeting's records: a record
    keyed otherwise (a session's data key) is sent there, beside its meeting's state."""
    every = list(range(partitions))
    return int(DefaultPartitioner()(meeting_id.encode(), every, every))


async def create_topics(bootstrap: str, prefix: str = "", *, replication_factor: int = 1,
                        min_insync_replicas: int | None = None) -> list[str]:
    """Create every registry topic (and its DLQ) that does not exist yet; returns those created.
    A replication factor the cluster cannot give fails with the broker's reason."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        specs = dict(all_topics(prefix))
        await _check_partitions(admin, {n: s.partitions for n, s in specs.items() if n in existing})
        wanted = [
            NewTopic(name, s.partitions, replication_factor, topic_configs=s.config() | (
                {"min.insync.replicas": str(min_insync_replicas)} if min_insync_replicas else {}))
            for name, s in specs.items()
            if name not in existing
        ]
        if wanted:
            # a concurrent creator may win the race; the topics exist either way
            with contextlib.suppress(TopicAlreadyExistsError):
                response = await admin.create_topics(wanted)
                _raise_topic_errors(response.topic_errors)
        return [t.name for t in wanted]
    finally:
        await admin.close()


def _raise_topic_errors(results: Sequence[tuple[Any, ...]]) -> None:
    """The broker answers per topic (name, code[, message]); aiokafka returns those answers
    without raising them, so a topic it refused would otherwise go unnoticed."""
    failed = [r for r in results if r[1] not in (0, TopicAlreadyExistsError.errno)]
    if failed:
        name, code, *message = failed[0]
        error = for_code(code)
        raise error(f"{len(failed)} topic(s) not created, e.g. {name}: "
                    f"{(message[0] if message else None) or error.__name__}")


async def _check_partitions(admin: AIOKafkaAdminClient, expected: dict[str, int]) -> None:
    """Existing topics must have the registry's partition count: a meeting's records must sit in
    the same partition number of every topic (docs/architecture.md), and adding partitions to a
    topic in use would move meetings to other partitions."""
    if not expected:
        return
    wrong = []
    for topic in await admin.describe_topics(list(expected)):
        name, have = topic["topic"], len(topic["partitions"])
        if have != expected[name]:
            wrong.append(f"{name} has {have} partitions, the registry says {expected[name]}")
    if wrong:
        raise TopicLayoutError("; ".join(wrong) + ": recreate these topics (a fresh stack: "
                               "`stenograph down` and remove the state directory), or set "
                               "STENOGRAPH_TOPIC_PREFIX to start on new ones")


def dlq_headers(
    error: CodecError | Exception, *, stage: str, topic: str, partition: int, offset: int
) -> list[tuple[str, bytes]]:
    reason = error.reason if isinstance(error, CodecError) else type(error).__name__
    return [
        ("dlq.reason", reason.encode()),
        ("dlq.error", str(error)[:2000].encode()),
        ("dlq.stage", stage.encode()),
        ("dlq.topic", topic.encode()),
        ("dlq.partition", str(partition).encode()),
        ("dlq.offset", str(offset).encode()),
        ("dlq.time_ns", str(time.time_ns()).encode()),
    ]


async def send_to_dlq(
    producer: AIOKafkaProducer,
    dlq_topic: str,
    *,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
) -> None:
    """Park a poison message with its reason; awaited so the offset is committed only after."""
    await producer.send_and_wait(dlq_topic, value=value, key=key, headers=list(headers))
    log.warning("message parked in %s: %s", dlq_topic, dict(headers).get("dlq.error", b"").decode())


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """A topic's partitions as the broker has them now (fresh metadata, no subscription)."""
    # aiokafka exposes no public metadata refresh for an unsubscribed consumer
    await consumer._client.force_metadata_update()
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


@asynccontextmanager
async def plain_consumer(bootstrap: str, **config: Any) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without a group (offset lookups, manual assignment), always stopped cleanly."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **config)
    await consumer.start()
    # let the coordinator's background task begin: stopping a consumer whose task never ran
    # raises CancelledError out of aiokafka's close()
    await asyncio.sleep(0)
    try:
        yield consumer
    finally:
        await consumer.stop()


async def assign_from(consumer: AIOKafkaConsumer, starts: dict[TopicPartition, int | None]) -> None:
    """Assign partitions and start each at an offset (None: its beginning).

    The consumer's own initial position lookup is awaited first: a seek issued while that
    lookup is in flight can be overwritten by it, silently skipping the partition's records.
    """
    consumer.assign(list(starts))
    for tp in starts:
        await consumer.position(tp)
    beginnings = await consumer.beginning_offsets([tp for tp, o in starts.items() if o is None])
    for tp, offset in starts.items():
        consumer.seek(tp, beginnings[tp] if offset is None else offset)
