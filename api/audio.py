"""A meeting's audio, read back from the audio topic by its sessions' offset ranges."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from stenograph.runtime import KeyRing, read_range
from stenograph.schemas import AUDIO, AudioFrame, CodecError, codec

READ_TIMEOUT_S = 120


async def session_frames(bootstrap: str, meeting_id: str, session_id: str,
                         entry: dict[str, Any], keys: KeyRing) -> list[AudioFrame]:
    """Frames of one capture session, opened: offsets first..last of its partition (to the end
    if live). A frame that does not open (its key destroyed) is left out."""
    tp = TopicPartition(entry["topic"], int(entry["partition"]))
    frames: list[AudioFrame] = []
    last = entry.get("last_offset")
    async for records in read_range(bootstrap, tp, int(entry["first_offset"]),
                                    int(last) if last is not None else None, timeout_s=READ_TIMEOUT_S):
        for record in records:
            if record.key != meeting_id.encode():
                continue  # another meeting's frames share the partition
            try:
                frame = codec(AUDIO).decode(record.value)
            except CodecError:
                continue
            if frame.session_id == session_id and (opened := await keys.open(frame)) is not None:
                frames.append(opened)
    return frames
