"""The data keys of capture sessions, followed from the compacted `meetings.keys` topic: what
opens a sealed audio frame, and which meetings can never be opened again (erased).

Every reader of audio (transcriber, replayer, the API's WAV export) holds one. A frame whose
key the ring has not seen yet makes it catch up with the topic first: capture publishes a
session's key, acknowledged, before the session's first frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from stenograph.runtime.feeds import TableFeed, wait_unless_failed
from stenograph.schemas import (
    KEYS,
    AudioFrame,
    DataKeyIssued,
    MeetingShredded,
    SealError,
    frame_aad,
    unseal,
    unwrap_data_key,
)

log = logging.getLogger(__name__)


class KeyRing(TableFeed):
    def __init__(self, bootstrap: str, topic: str, master: bytes) -> None:
        self._master = master
        self._wrapped: dict[tuple[str, str], bytes] = {}
        self._keys: dict[tuple[str, str], bytes] = {}  # unwrapped, for the sessions in use
        self.shredded: set[str] = set()
        self.unopened = 0  # frames that stayed sealed: key destroyed, missing or not ours
        self._missing: set[tuple[str, str]] = set()  # caught up once and still no key: warned
        super().__init__(bootstrap, topic, KEYS, self._fold, self._forget)

    def _fold(self, event: object) -> None:
        self._missing.clear()  # a new record may be the key a session waits for
        if isinstance(event, DataKeyIssued) and event.meeting_id not in self.shredded:
            self._wrapped[(event.meeting_id, event.session_id)] = event.wrapped_key
        elif isinstance(event, MeetingShredded):
            self.shredded.add(event.meeting_id)
            for session in [s for s in self._wrapped if s[0] == event.meeting_id]:
                self._drop(session)

    def _forget(self, record_key: bytes) -> None:
        meeting, _, session = record_key.decode(errors="replace").partition("/")
        self._drop((meeting, session))

    def _drop(self, session: tuple[str, str]) -> None:
        self._wrapped.pop(session, None)
        self._keys.pop(session, None)

    def erased(self, meeting_id: str) -> bool:
        return meeting_id in self.shredded

    async def open(self, frame: AudioFrame) -> AudioFrame | None:
        """The frame with its plain payload, or None when it cannot be opened (its meeting
        erased, its key destroyed or never issued, or sealed under another master key)."""
        if frame.meeting_id in self.shredded:
            return None
        if not frame.sealed:
            return frame  # captured before sealing
        session = (frame.meeting_id, frame.session_id)
        key = self._key(session)
        if key is None and session not in self._missing and await self.caught_up():
            key = self._key(session)
        try:
            if key is None:
                raise SealError("no data key for this session on the keys topic")
            plain = unseal(key, frame.payload, frame_aad(frame.meeting_id, frame.session_id, frame.seq))
        except SealError as exc:
            self.unopened += 1
            if frame.meeting_id not in self.shredded and session not in self._missing:
                log.warning("frames of session %s/%s left sealed: %s", *session, exc)
            if key is None:
                self._missing.add(session)
            return None
        return replace(frame, payload=plain, sealed=False)

    def _key(self, session: tuple[str, str]) -> bytes | None:
        key = self._keys.get(session)
        if key is None and (wrapped := self._wrapped.get(session)) is not None:
            try:
                key = self._keys[session] = unwrap_data_key(self._master, wrapped, *session)
            except SealError:
                log.error("data key of session %s/%s does not open under this STENOGRAPH_SECRET_KEY",
                          *session)
                return None
        return key


@asynccontextmanager
async def loaded_keyring(bootstrap: str, topic: str, master: bytes) -> AsyncIterator[KeyRing]:
    """A key ring read to the topic's end, for a one-off read of stored audio (a replay, an
    export); it keeps following until the block ends."""
    ring, stop = KeyRing(bootstrap, topic, master), asyncio.Event()
    task = asyncio.create_task(ring.run(stop))
    try:
        await wait_unless_failed([task], ring.ready.wait())
        yield ring
    finally:
        stop.set()
        await task
