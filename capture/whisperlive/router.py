"""Segments of the meetings this gateway streams, read once and handed to their connections."""

from __future__ import annotations

import asyncio
import logging

from stenograph.runtime import TopicReader
from stenograph.schemas import LIVE_RUN, SEGMENTS, CodecError, SegmentEvent, codec

log = logging.getLogger(__name__)


class SegmentRouter:
    """One consumer over every segments partition, from the end it had at start-up.

    Meeting ids are new per stream, so nothing a connection needs was written before it.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.ready = asyncio.Event()
        self._queues: dict[bytes, asyncio.Queue[SegmentEvent]] = {}
        self._codec = codec(SEGMENTS)

    def subscribe(self, meeting_id: str) -> asyncio.Queue[SegmentEvent]:
        queue: asyncio.Queue[SegmentEvent] = asyncio.Queue()
        self._queues[meeting_id.encode()] = queue
        return queue

    def unsubscribe(self, meeting_id: str) -> None:
        self._queues.pop(meeting_id.encode(), None)

    async def run(self, stop: asyncio.Event) -> None:
        async with TopicReader(self.bootstrap, [self.topic]) as reader:
            self.ready.set()
            while not stop.is_set():
                for r in await reader.batch():
                    queue = self._queues.get(r.key) if r.key is not None else None
                    if queue is None:
                        continue  # another gateway's meeting: not even decoded
                    try:
                        event = self._codec.decode(r.value)
                    except CodecError:
                        continue  # the aggregator parks it in the DLQ
                    if event.run_id == LIVE_RUN:
                        queue.put_nowait(event)
