"""A whole small topic folded into memory and followed: meeting configs, API keys."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import ConsumerRecord

from stenograph.runtime.readers import TopicReader
from stenograph.schemas import CodecError, codec

log = logging.getLogger(__name__)


class TableFeed:
    """Reads `topic` from its beginning and hands every event to `fold`, then keeps following.

    `ready` is set once the topic has been read to the end it had at start-up; `caught_up()`
    waits until everything written before the call has been folded (read-your-writes).
    """

    def __init__(self, bootstrap: str, topic: str, base: str, fold: Callable[[object], None],
                 tombstone: Callable[[bytes], None] | None = None) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.ready = asyncio.Event()
        self._fold = fold
        self._tombstone = tombstone  # a compacted topic's deletions, by record key
        self._codec = codec(base)
        self._reader: TopicReader | None = None
        self._folded = asyncio.Condition()

    async def run(self, stop: asyncio.Event) -> None:
        async with TopicReader(self.bootstrap, [self.topic], start="beginning") as reader:
            self._reader = reader
            ends = await reader.ends()
            while not stop.is_set():
                self.take(await reader.batch(max_records=1000))
                async with self._folded:
                    self._folded.notify_all()
                if not self.ready.is_set() and await reader.reached(ends):
                    self.ready.set()
                    log.info("%s loaded", self.topic)

    def take(self, records: list[ConsumerRecord]) -> None:
        """Fold records of the topic, in order (a tombstone to `tombstone`)."""
        for r in records:
            if r.value is None and r.key is not None and self._tombstone is not None:
                self._tombstone(r.key)
                continue
            try:
                self._fold(self._codec.decode(r.value))
            except CodecError:
                continue  # a consumer that owns this topic parks it in the DLQ

    async def caught_up(self, timeout: float = 5.0) -> bool:
        """True once every record on the topic when called has been folded."""
        try:
            async with asyncio.timeout(timeout):
                await self.ready.wait()
                assert self._reader is not None
                ends = await self._reader.ends()
                async with self._folded:
                    while not await self._reader.reached(ends):
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
