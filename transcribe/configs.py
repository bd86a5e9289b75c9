"""Per-meeting transcription settings from the commands topic (JoinRequested, ConfigChanged).

Every worker reads every commands partition (they are few and small): a meeting's audio
partition and its commands partition need not belong to the same worker.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from schemas.codec import codec
from schemas.errors import CodecError
from schemas.events import ConfigChanged, JoinRequested
from schemas.topics import COMMANDS
from stenograph.kafka import assign_from, plain_consumer, topic_partitions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeetingConfig:
    language: str | None = None  # None: detect
    task: str = "transcribe"


def apply_command(configs: dict[str, MeetingConfig], command: object) -> None:
    """Pure: fold one command into the table; a change applies from the next chunk on."""
    if isinstance(command, JoinRequested):
        configs[command.meeting_id] = MeetingConfig(command.language, command.task)
    elif isinstance(command, ConfigChanged):
        current = configs.get(command.meeting_id, MeetingConfig())
        if command.language is not None:
            current = replace(current, language=command.language)
        if command.task is not None:
            current = replace(current, task=command.task)
        configs[command.meeting_id] = current


class ConfigFeed:
    """Keeps `configs` current; `ready` is set once the topic has been read to its end."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.configs: dict[str, MeetingConfig] = {}
        self.ready = asyncio.Event()
        self._codec = codec(COMMANDS)

    def get(self, meeting_id: str) -> MeetingConfig:
        return self.configs.get(meeting_id, MeetingConfig())

    async def run(self, stop: asyncio.Event) -> None:
        async with plain_consumer(self.bootstrap) as consumer:
            tps = await topic_partitions(consumer, self.topic)
            await assign_from(consumer, dict.fromkeys(tps))
            ends = await consumer.end_offsets(tps)
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=1000)
                for records in batch.values():
                    for r in records:
                        try:
                            apply_command(self.configs, self._codec.decode(r.value))
                        except CodecError:
                            continue  # parked in the DLQ by the aggregator
                if not self.ready.is_set():
                    positions = [await consumer.position(tp) for tp in tps]
                    if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                        self.ready.set()
                        log.info("meeting configs loaded: %d meetings", len(self.configs))
