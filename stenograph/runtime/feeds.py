"""A whole small topic folded into memory and followed: meeting configs, API keys."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from stenograph.runtime.kafka import assign_from, plain_consumer, topic_partitions
from stenograph.schemas.codec import codec
from stenograph.schemas.errors import CodecError

log = logging.getLogger(__name__)


class TableFeed:
    """Reads `topic` from its beginning and hands every event to `fold`, then keeps following.

    `ready` is set once the topic has been read to the end it had at start-up; `caught_up()`
    waits until everything written before the call has been folded (read-your-writes).
    """

    def __init__(self, bootstrap: str, topic: str, base: str, fold: Callable[[object], None]) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.ready = asyncio.Event()
        self._fold = fold
        self._codec = codec(base)
        self._consumer: AIOKafkaConsumer | None = None
        self._tps: list[TopicPartition] = []
        self._folded = asyncio.Condition()

    async def run(self, stop: asyncio.Event) -> None:
        async with plain_consumer(self.bootstrap) as consumer:
            self._tps = await topic_partitions(consumer, self.topic)
            await assign_from(consumer, dict.fromkeys(self._tps))
            self._consumer = consumer
            ends = await consumer.end_offsets(self._tps)
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=1000)
                for records in batch.values():
                    for r in records:
                        try:
                            self._fold(self._codec.decode(r.value))
                        except CodecError:
                            continue  # a consumer that owns this topic parks it in the DLQ
                async with self._folded:
                    self._folded.notify_all()
                if not self.ready.is_set() and await self._reached(ends):
                    self.ready.set()
                    log.info("%s loaded", self.topic)

    async def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        assert self._consumer is not None
        for tp in self._tps:
            if await self._consumer.position(tp) < ends[tp]:
                return False
        return True

    async def caught_up(self, timeout: float = 5.0) -> bool:
        """True once every record on the topic when called has been folded."""
        try:
            async with asyncio.timeout(timeout):
                await self.ready.wait()
                assert self._consumer is not None
                ends = await self._consumer.end_offsets(self._tps)
                async with self._folded:
                    while not await self._reached(ends):
                        await self._folded.wait()
        except TimeoutError:
            return False
        return True


async def wait_unless_failed(tasks: list[asyncio.Task[None]], waiting: Awaitable[object]) -> None:
    """Wait for `waiting`; a background task that fails first raises its error instead of a hang."""
    waiter = asyncio.ensure_future(waiting)
    done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if task in done:
            task.result()
    if waiter not in done:
        waiter.cancel()
