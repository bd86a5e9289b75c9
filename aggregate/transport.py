"""Faust's aiokafka transport, with the seek to the committed offsets that Faust intends.

After a rebalance (and when the watchdog finds the consumer stalled) Faust seeks its stream
partitions "to committed offsets" and forgets what it had read, because records it fetched
meanwhile were dropped without reaching an agent (faust/transport/consumer.py: the flow is
suspended while the callback waits, and the read offset moves on anyway). aiokafka's
`seek_to_committed` seeks only a partition whose committed offset is above 0, so a partition
the group has never committed stays where the fetcher left it, past the dropped records: they
were never applied and the next commit passes them. Here such a partition is sought to its
beginning, which is what `consumer_auto_offset_reset="earliest"` says it starts from.
Changelog partitions are left alone: table recovery seeks those itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import faust
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka

log = logging.getLogger(__name__)


def never_committed(committed: Mapping[TopicPartition, int | None],
                    changelogs: set[str]) -> list[TopicPartition]:
    """The stream partitions with no committed offset (aiokafka's seek leaves those alone)."""
    return [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[Any, int]:
        committed = await super().seek_to_committed()
        fresh = never_committed(committed, set(self.consumer.app.tables.changelog_topics))
        if fresh:
            log.info("aggregator: %s never committed; sought to the beginning",
                     ", ".join(sorted(f"{tp.topic}:{tp.partition}" for tp in fresh)))
            await self.call_thread(self._ensure_consumer().seek_to_beginning, *fresh)
        return committed


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class AggregatorApp(faust.App):
    """A Faust app whose consumer seeks every stream partition back when Faust asks it to."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
