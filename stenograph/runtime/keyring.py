"""The data keys of capture sessions, followed from the compacted `meetings.keys` topic: what
opens a sealed audio frame, and which meetings can never be opened again (erased).

Every reader of audio (transcriber, replayer, the API's WAV export) holds one. Capture publishes
a session's key, acknowledged, before the session's first frame, so a frame whose key the ring
has not seen makes it catch up with the topic: once caught up, a key that is still not there
was destroyed (or never issued under this deployment's master key) and the frame stays sealed;
a ring that cannot catch up (the keys topic's leader away) raises KeyNotYet, a transient error,
so that the frame is tried again rather than lost.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import replace

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from stenograph.runtime.feeds import TableFeed
from stenograph.runtime.kafka import meeting_partition
from stenograph.runtime.readers import read_range
from stenograph.schemas import (
    KEYS,
    SEAL_OVERHEAD,
    AudioFrame,
    DataKeyIssued,
    MeetingShredded,
    SealError,
    data_key_session,
    frame_aad,
    unseal,
    unwrap_data_key,
)

log = logging.getLogger(__name__)
Session = tuple[str, str]  # meeting id, session id


class KeyNotYet(Exception):
    """The keys topic could not be read up to the frame: try the frame again later."""


class KeyRing(TableFeed):
    def __init__(self, bootstrap: str, topic: str, master: bytes) -> None:
        self._master = master
        self._wrapped: dict[Session, bytes] = {}
        self._keys: dict[Session, bytes] = {}  # unwrapped, for the sessions in use
        self._refused: set[Session] = set()  # wrapped under another master key: said once
        self.shredded: set[str] = set()
        super().__init__(bootstrap, topic, KEYS, self._fold, self._forget)

    def _fold(self, event: object) -> None:
        if isinstance(event, DataKeyIssued) and event.meeting_id not in self.shredded:
            session = (event.meeting_id, event.session_id)
            self._wrapped[session] = event.wrapped_key
            self._refused.discard(session)
        elif isinstance(event, MeetingShredded):
            self.shredded.add(event.meeting_id)
            for session in [s for s in self._wrapped if s[0] == event.meeting_id]:
                self._drop(session)

    def _forget(self, record_key: bytes) -> None:
        self._drop(data_key_session(record_key))

    def _drop(self, session: Session) -> None:
        self._wrapped.pop(session, None)
        self._keys.pop(session, None)

    def erased(self, meeting_id: str) -> bool:
        return meeting_id in self.shredded

    async def open(self, frame: AudioFrame) -> AudioFrame | None:
        """The frame with its plain payload; None when it can never be opened (its meeting
        erased, its key destroyed, or none issued under this master key). A sealed payload that
        does not open under its own key is damaged: it comes back as a frame whose CRC fails, so
        the integrity check reports it. KeyNotYet: the keys topic could not be read up to here."""
        if frame.meeting_id in self.shredded:
            return None
        if not frame.sealed:
            return frame  # captured before sealing
        session = (frame.meeting_id, frame.session_id)
        if session not in self._wrapped:
            if not await self.caught_up():
                raise KeyNotYet(f"keys topic not read up to session {session[0]}/{session[1]}")
            if frame.meeting_id in self.shredded:
                return None
        key = self._key(session)
        if key is None:
            return None
        try:
            plain = unseal(key, frame.payload, frame_aad(frame.meeting_id, frame.session_id, frame.seq))
        except SealError:
            damaged = bytes(max(0, len(frame.payload) - SEAL_OVERHEAD))
            crc = frame.crc32 if zlib.crc32(damaged) != frame.crc32 else frame.crc32 ^ 1
            return replace(frame, payload=damaged, sealed=False, crc32=crc)
        return replace(frame, payload=plain, sealed=False)

    def _key(self, session: Session) -> bytes | None:
        key = self._keys.get(session)
        if key is not None or session in self._refused:
            return key
        wrapped = self._wrapped.get(session)
        if wrapped is None:
            log.warning("frames of session %s/%s left sealed: its data key is not on the keys topic "
                        "(destroyed, or never issued)", *session)
            self._refused.add(session)
            return None
        try:
            key = self._keys[session] = unwrap_data_key(self._master, wrapped, *session)
        except SealError:
            log.error("data key of session %s/%s does not open under this STENOGRAPH_SECRET_KEY: "
                      "its frames stay sealed", *session)
            self._refused.add(session)
            return None
        return key


class MeetingKeys(KeyRing):
    """One meeting's keys, read once from its partition of the keys topic (where all of its key
    records are): for a one-off read of stored audio (a replay, an export), whose sessions'
    keys were all issued before the read began."""

    async def caught_up(self, timeout: float = 5.0) -> bool:
        return self.ready.is_set()


async def meeting_key_records(bootstrap: str, topic: str, meeting_id: str,
                              timeout_s: float = 30) -> list[ConsumerRecord]:
    """Every record of the meeting on the keys topic, in order: its partition (where all of a
    meeting's key records are) read to the end."""
    tp = TopicPartition(topic, meeting_partition(meeting_id))
    return [r for batch in [b async for b in read_range(bootstrap, tp, 0, None, timeout_s=timeout_s)]
            for r in batch if data_key_session(r.key or b"")[0] == meeting_id]


async def meeting_keys(bootstrap: str, topic: str, master: bytes, meeting_id: str) -> MeetingKeys:
    """The meeting's key ring, its partition read to the end; KeyNotYet when it cannot be."""
    ring = MeetingKeys(bootstrap, topic, master)
    try:
        ring.take(await meeting_key_records(bootstrap, topic, meeting_id))
    except (TimeoutError, KafkaError) as exc:
        raise KeyNotYet(f"keys of meeting {meeting_id} not readable: {exc}") from exc
    ring.ready.set()
    return ring
