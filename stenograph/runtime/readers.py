"""The one reader family for consumers without a group: follow topics from their end, read them
from their beginning to the end they had, or read one partition's offset range.

Every fetch goes through `consumer.fetch`; records come back as plain ConsumerRecords (the
caller decodes, often after a cheap look at the key).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from stenograph.runtime.consumer import fetch
from stenograph.runtime.kafka import assign_from, plain_consumer, topic_partitions

Start = Literal["beginning", "end"]


class TopicReader:
    """Whole topics, every partition, from their beginning or from their end at start-up."""

    def __init__(self, bootstrap: str, topics: list[str], *, start: Start = "end", **config: Any) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.start = start
        self._config = config
        self._stack = contextlib.AsyncExitStack()
        self._consumer: AIOKafkaConsumer | None = None
        self.partitions: list[TopicPartition] = []

    async def __aenter__(self) -> TopicReader:
        consumer = await self._stack.enter_async_context(plain_consumer(self.bootstrap, **self._config))
        for topic in self.topics:
            self.partitions += await topic_partitions(consumer, topic)
        if self.start == "end":
            starts: dict[TopicPartition, int | None] = dict(await consumer.end_offsets(self.partitions))
        else:
            starts = dict.fromkeys(self.partitions)
        await assign_from(consumer, starts)
        self._consumer = consumer
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._consumer = None
        await self._stack.aclose()

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("reader not open")
        return self._consumer

    async def batch(self, timeout_s: float = 0.2, max_records: int = 2000) -> list[ConsumerRecord]:
        return await fetch(self.consumer, timeout_s=timeout_s, max_records=max_records)

    async def ends(self) -> dict[TopicPartition, int]:
        return dict(await self.consumer.end_offsets(self.partitions))

    async def reached(self, ends: dict[TopicPartition, int]) -> bool:
        """True once every partition has been read up to `ends`."""
        for tp in self.partitions:
            if await self.consumer.position(tp) < ends[tp]:
                return False
        return True

    async def to_end(self, max_records: int = 2000) -> AsyncIterator[list[ConsumerRecord]]:
        """Batches up to the end the topics have now; records written later are not yielded."""
        ends = await self.ends()
        while not await self.reached(ends):
            records = await self.batch(timeout_s=1.0, max_records=max_records)
            kept = [r for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)]]
            if kept:
                yield kept


async def read_range(
    bootstrap: str, tp: TopicPartition, first: int, last: int | None, *, timeout_s: float | None = None,
    **config: Any,
) -> AsyncIterator[list[ConsumerRecord]]:
    """Batches of one partition from offset `first` to `last` (None: to its end now).

    Stops early when the partition holds nothing more; TimeoutError past `timeout_s`.
    """
    async with plain_consumer(bootstrap, **config) as consumer:
        await assign_from(consumer, {tp: first})
        end = last + 1 if last is not None else (await consumer.end_offsets([tp]))[tp]
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while await consumer.position(tp) < end:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{tp.topic}:{tp.partition} offsets {first}..{end - 1} "
                                   f"not read in {timeout_s} s")
            records = [r for r in await fetch(consumer, timeout_s=1.0, max_records=5000)
                       if r.offset < end]
            if records:
                yield records
            elif (await consumer.end_offsets([tp]))[tp] <= await consumer.position(tp):
                return  # nothing more stored
