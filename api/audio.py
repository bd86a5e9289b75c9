"""A meeting's audio, read back from the audio topic by its sessions' offset ranges."""

from __future__ import annotations

import time
from typing import Any

from aiokafka import TopicPartition

from stenograph.runtime.kafka import assign_from, plain_consumer
from stenograph.schemas.codec import codec
from stenograph.schemas.errors import CodecError
from stenograph.schemas.events import AudioFrame
from stenograph.schemas.topics import AUDIO

READ_TIMEOUT_S = 120


async def session_frames(bootstrap: str, meeting_id: str, session_id: str,
                         entry: dict[str, Any]) -> list[AudioFrame]:
    """Frames of one capture session: offsets first..last of its partition (to the end if live)."""
    tp = TopicPartition(entry["topic"], int(entry["partition"]))
    frames: list[AudioFrame] = []
    async with plain_consumer(bootstrap) as consumer:
        await assign_from(consumer, {tp: int(entry["first_offset"])})
        last = entry.get("last_offset")
        end = int(last) + 1 if last is not None else (await consumer.end_offsets([tp]))[tp]
        deadline = time.monotonic() + READ_TIMEOUT_S
        while await consumer.position(tp) < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"audio of session {session_id} not read in {READ_TIMEOUT_S} s")
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=2000)
            for record in batch.get(tp, []):
                if record.offset >= end:
                    break
                if record.key != meeting_id.encode():
                    continue  # another meeting's frames share the partition
                try:
                    frame = codec(AUDIO).decode(record.value)
                except CodecError:
                    continue
                if frame.session_id == session_id:
                    frames.append(frame)
    return frames
