"""The one consumer-group core under every stage that consumes a topic (transcriber, replayer,
bot manager, webhooks); docs/architecture.md, "The processor", gives its rules.

A stage is a `Step`, made after getsentry/arroyo's strategies without its synchronous client:
the core owns the group, the fetch loop, decoding through the codec, the rebalance listener,
the commits, the dead-letter policy, retries of transient errors and backpressure; the step
takes decoded records (`submit`), works between batches (`poll`), says how far it is safe to
commit (`commit_point`) and lets go of partitions (`revoked`).

Rules the core keeps:
- A record is "processed" once `submit` returned; the commit never passes a record that is not,
  nor the step's own commit point (work it holds in memory).
- A record that does not decode goes to its topic's DLQ if this stage owns that DLQ in the
  topic registry; any other stage skips and counts it. Either way it is processed.
- A transient error (the step's `transient` types) is retried with backoff, the same record
  again; any other error ends the run without a commit, so the records since the last commit
  are read again by whoever takes the partition over.
- While the step says it is behind (`backpressure`), its partitions are paused: nothing more is
  fetched, the group membership stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from stenograph.runtime.kafka import dlq_headers, reliable_producer, send_to_dlq
from stenograph.runtime.metrics import COMMITS, CONSUMER_LAG, DLQ_RECORDS, RECORDS
from stenograph.runtime.retry import DEFAULT_DELAYS_S, retrying
from stenograph.schemas import CodecError, TopicNames, codec, spec

log = logging.getLogger(__name__)

CommitPoint = tuple[int, str]  # (next offset to read, commit metadata)


async def fetch(consumer: AIOKafkaConsumer, *, timeout_s: float, max_records: int,
                partitions: list[TopicPartition] | None = None) -> list[ConsumerRecord]:
    """One fetch, in partition order: the only place records are taken from a consumer."""
    batch = await consumer.getmany(*(partitions or ()), timeout_ms=int(timeout_s * 1000),
                                   max_records=max_records)
    return [r for records in batch.values() for r in records]


@dataclass(frozen=True)
class Record:
    """A decoded record: the event, where it came from, and its bytes (for a DLQ entry)."""

    base: str  # the registry's topic name, without prefix
    topic: str
    partition: int
    offset: int
    key: bytes | None
    event: Any
    value: bytes | None

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


class Step:
    """What a stage does with its records. Defaults: nothing held, nothing between batches."""

    transient: tuple[type[BaseException], ...] = ()  # errors worth the same record again

    async def assigned(self, partitions: dict[TopicPartition, str | None]) -> None:
        """New partitions, with the metadata of their last commit."""

    async def submit(self, record: Record) -> bool:
        """Take one record; True asks for a commit soon (output was produced)."""
        raise NotImplementedError

    async def poll(self) -> bool:
        """Work between batches; True: more is waiting, fetch without waiting."""
        return False

    def commit_point(self, tp: TopicPartition, processed: int) -> CommitPoint | None:
        """Where `tp` may be committed, given that records below `processed` were submitted.
        None: nothing to commit."""
        return processed, ""

    def backpressure(self) -> bool:
        """True: take no more records until poll() has caught up."""
        return False

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        """Partitions taken away, after their last commit."""

    async def close(self) -> None:
        """The run ends (after the final commit, if it ended cleanly)."""


@dataclass(frozen=True, kw_only=True)
class ConsumerConfig:
    bootstrap: str
    group_id: str
    stage: str  # the registry's name for this consumer: decides which DLQs it owns
    topics: TopicNames
    bases: tuple[str, ...]  # registry topics consumed
    auto_offset_reset: str = "earliest"
    max_records: int = 1000
    poll_timeout_s: float = 0.2
    commit_interval_s: float = 1.0
    max_poll_interval_ms: int = 300_000
    max_partition_fetch_bytes: int = 1_048_576
    ready_on_assignment: bool = False  # ready means: partitions assigned and positioned
    retry_delays_s: tuple[float, ...] = DEFAULT_DELAYS_S


@dataclass
class _Partition:
    processed: int | None = None  # next offset after the last processed record
    committed: CommitPoint | None = None


@dataclass
class GroupStats:
    skipped: Counter[str] = field(default_factory=Counter)  # undecodable, parked by another stage
    parked: Counter[str] = field(default_factory=Counter)  # undecodable, sent to our DLQ
    retries: int = 0
    commits: int = 0


class GroupConsumer:
    def __init__(self, config: ConsumerConfig, step: Step,
                 producer: AIOKafkaProducer | None = None) -> None:
        self.config = config
        self.step = step
        self.stats = GroupStats()
        self._names = {config.topics.name(b): b for b in config.bases}
        self._codecs = {b: codec(b) for b in config.bases}
        self._owns_dlq = {b: spec(b).dlq_owner == config.stage for b in config.bases}
        self._own_producer = producer is None
        self.producer = producer or reliable_producer(config.bootstrap)
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._parts: dict[TopicPartition, _Partition] = {}
        self._lock = asyncio.Lock()  # batches and rebalances never interleave
        self._last_commit = 0.0
        self._paused = False
        self._failed = False  # once set, nothing is committed again (not even on the way out)

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("consumer not started")
        return self._consumer

    def highwater(self, tp: TopicPartition) -> int | None:
        """The partition's end as of the last fetch (None before one)."""
        return self.consumer.highwater(tp)

    def unread(self, tp: TopicPartition) -> int:
        """Records on `tp` not yet handed to the step nor parked, as of the last fetch (0 before
        the first record)."""
        part, high = self._parts.get(tp), self.consumer.highwater(tp)
        if part is None or part.processed is None or high is None:
            return 0
        return max(0, high - part.processed)

    def answered_within(self, tp: TopicPartition, seconds: float) -> bool:
        """Whether a fetch of `tp` was answered in the last `seconds`: while its leader is down
        or being elected nothing answers, and a quiet partition then says nothing of its source."""
        try:
            polled_ms = self.consumer.last_poll_timestamp(tp)
        except (AssertionError, IllegalStateError):  # not (or no longer) assigned
            return False
        return polled_ms is not None and time.time() - polled_ms / 1000 <= seconds

    def assignment(self) -> set[TopicPartition]:
        return set(self._parts)

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        cfg = self.config
        self._admin = AIOKafkaAdminClient(bootstrap_servers=cfg.bootstrap)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=cfg.bootstrap, group_id=cfg.group_id, enable_auto_commit=False,
            auto_offset_reset=cfg.auto_offset_reset, max_poll_interval_ms=cfg.max_poll_interval_ms,
            max_partition_fetch_bytes=cfg.max_partition_fetch_bytes,
        )
        await self._admin.start()
        if self._own_producer:
            await self.producer.start()
        clean = False
        try:
            await self._consumer.start()
            self._consumer.subscribe(list(self._names), listener=_Rebalance(self))
            log.info("%s consuming %s as %s", cfg.stage, ", ".join(self._names), cfg.group_id)
            if cfg.ready_on_assignment:
                await self._await_assignment(stop)
            if on_ready is not None:
                on_ready()
            more = False
            while not stop.is_set():
                self._pause(self.step.backpressure())
                records = await fetch(self._consumer, timeout_s=0 if more or self._paused
                                      else cfg.poll_timeout_s, max_records=cfg.max_records)
                async with self._lock:
                    commit_soon = False
                    for record in records:
                        commit_soon |= await self._deliver(record, stop)
                    more = await self.step.poll()
                    await self._commit(force=commit_soon)
                await self._measure_lag()
                if self._paused and not more:
                    await asyncio.sleep(cfg.poll_timeout_s)  # behind, yet nothing to do now
            clean = True
        except BaseException:
            self._failed = True
            raise
        finally:
            try:
                if clean:  # a failed run commits nothing: its in-flight records are read again
                    async with self._lock:
                        await self._commit(force=True)
                await self.step.close()
            finally:
                await self._consumer.stop()
                if self._own_producer:
                    await self.producer.stop()
                await self._admin.close()

    async def _await_assignment(self, stop: asyncio.Event) -> None:
        """Ready means every record from now on is seen: partitions assigned and positioned."""
        while not self.consumer.assignment() and not stop.is_set():
            records = await fetch(self.consumer, timeout_s=self.config.poll_timeout_s,
                                  max_records=self.config.max_records)
            async with self._lock:
                for record in records:
                    await self._deliver(record, stop)
                await self._commit(force=bool(records))
        for tp in self.consumer.assignment():
            await self.consumer.position(tp)

    async def _measure_lag(self) -> None:
        for tp in self.consumer.assignment():
            part, high = self._parts.get(tp), self.consumer.highwater(tp)
            if part is None or high is None:
                continue
            done = part.processed
            if done is None:  # nothing read here yet: the fetch position (no I/O once it is known)
                try:
                    done = await self.consumer.position(tp)
                except IllegalStateError:  # revoked meanwhile
                    continue
            CONSUMER_LAG.labels(self.config.stage, self._names.get(tp.topic, tp.topic),
                                str(tp.partition)).set(max(0, high - done))

    def _pause(self, behind: bool) -> None:
        if behind == self._paused:
            return
        parts = list(self.consumer.assignment())
        if behind:
            self.consumer.pause(*parts)
        else:
            self.consumer.resume(*parts)
        self._paused = behind

    async def _deliver(self, raw: ConsumerRecord, stop: asyncio.Event) -> bool:
        tp = TopicPartition(raw.topic, raw.partition)
        part = self._parts.setdefault(tp, _Partition())
        base = self._names[raw.topic]
        try:
            event = self._codecs[base].decode(raw.value)
        except CodecError as exc:
            await self._poison(base, raw, exc)
            part.processed = raw.offset + 1
            return False
        RECORDS.labels(self.config.stage, base).inc()
        record = Record(base=base, topic=raw.topic, partition=raw.partition, offset=raw.offset,
                        key=raw.key, event=event, value=raw.value)
        commit_soon = await self._submit(record, stop)
        part.processed = raw.offset + 1
        return commit_soon

    async def _poison(self, base: str, raw: ConsumerRecord, exc: CodecError) -> None:
        if not self._owns_dlq[base]:
            self.stats.skipped[base] += 1  # its owner parks it
            log.warning("skipped an undecodable record at %s:%d:%d (%s)", raw.topic, raw.partition,
                        raw.offset, exc.reason)
            return
        await send_to_dlq(self.producer, self.config.topics.dlq(base), key=raw.key, value=raw.value,
                          headers=dlq_headers(exc, stage=self.config.stage, topic=raw.topic,
                                              partition=raw.partition, offset=raw.offset))
        self.stats.parked[base] += 1
        DLQ_RECORDS.labels(self.config.stage, base).inc()

    async def _submit(self, record: Record, stop: asyncio.Event) -> bool:
        def counted() -> None:
            self.stats.retries += 1

        return await retrying(lambda: self.step.submit(record), transient=self.step.transient,
                              what=f"{record.topic}:{record.partition}:{record.offset}",
                              delays_s=self.config.retry_delays_s, stop=stop, on_retry=counted)

    async def _commit(self, *, force: bool = False, only: set[TopicPartition] | None = None) -> None:
        if self._failed:
            return
        now = time.monotonic()
        if not force and now - self._last_commit < self.config.commit_interval_s:
            return
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, part in self._parts.items():
            if (only is not None and tp not in only) or part.processed is None:
                continue
            point = self.step.commit_point(tp, part.processed)
            if point is not None and point != part.committed:
                offsets[tp] = OffsetAndMetadata(point[0], point[1])
        self._last_commit = now
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            log.warning("commit failed (%s); work since the last commit will be redone", exc)
            return
        self.stats.commits += 1
        COMMITS.labels(self.config.stage).inc()
        for tp, om in offsets.items():
            self._parts[tp].committed = (om.offset, om.metadata)

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        if not assigned:
            return
        assert self._admin is not None
        committed = await self._admin.list_consumer_group_offsets(self.config.group_id,
                                                                  partitions=list(assigned))
        async with self._lock:
            for tp in assigned:
                self._parts[tp] = _Partition()
            await self.step.assigned({tp: (om.metadata if (om := committed.get(tp)) is not None else None)
                                      for tp in assigned})
            if self._paused:  # newly assigned partitions start paused too
                self.consumer.pause(*assigned)
        log.info("%s assigned %s", self.config.stage, sorted((tp.topic, tp.partition) for tp in assigned))

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            await self._commit(force=True, only=revoked)
            await self.step.revoked(revoked)
            for tp in revoked:
                self._parts.pop(tp, None)
                with contextlib.suppress(KeyError):  # another worker reports its lag now
                    CONSUMER_LAG.remove(self.config.stage, self._names.get(tp.topic, tp.topic),
                                        str(tp.partition))
        log.info("%s revoked %s", self.config.stage, sorted((tp.topic, tp.partition) for tp in revoked))


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, core: GroupConsumer) -> None:
        self.core = core

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.core._revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.core._assigned(set(assigned))
