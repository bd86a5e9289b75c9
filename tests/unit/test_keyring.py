"""The key ring (stenograph/runtime/keyring.py), without Kafka: what opens, what never will,
and what waits for the keys topic."""

from __future__ import annotations

import logging
import zlib
from dataclasses import replace

import pytest

from stenograph.runtime import KeyNotYet, KeyRing
from stenograph.schemas import (
    AudioFrame,
    DataKeyIssued,
    MeetingShredded,
    frame_aad,
    new_key,
    new_master_key,
    parse_master_key,
    seal,
    wrap_data_key,
)

MASTER = parse_master_key(new_master_key())
PCM = bytes(range(256)) * 12


def _frame(key: bytes, meeting: str = "m", session: str = "s", seq: int = 0) -> AudioFrame:
    return AudioFrame(tenant_id="t", meeting_id=meeting, session_id=session, seq=seq, capture_time_ns=0,
                      session_started_at_ns=0, sample_rate=16000, channels=1, crc32=zlib.crc32(PCM),
                      payload=seal(key, PCM, frame_aad(meeting, session, seq)), sealed=True)


def _ring(caught_up: bool = True) -> KeyRing:
    ring = KeyRing("unused:9092", "meetings.keys", MASTER)

    async def answer(timeout: float = 5.0) -> bool:
        return caught_up

    ring.caught_up = answer  # type: ignore[method-assign]
    return ring


def _issue(ring: KeyRing, key: bytes, meeting: str = "m", session: str = "s", master: bytes = MASTER) -> None:
    ring._fold(DataKeyIssued(tenant_id="t", meeting_id=meeting, session_id=session,
                             wrapped_key=wrap_data_key(master, key, meeting, session)))


async def test_a_frame_opens_under_its_sessions_key_and_keeps_its_time() -> None:
    ring, key = _ring(), new_key()
    _issue(ring, key)
    frame = _frame(key, seq=3)
    opened = await ring.open(frame)
    assert opened is not None and opened.payload == PCM and not opened.sealed
    assert opened.duration_s == frame.duration_s == len(PCM) / 32000


async def test_an_erased_meeting_and_a_destroyed_key_never_open() -> None:
    ring, key, other = _ring(), new_key(), new_key()
    _issue(ring, key)
    _issue(ring, other, meeting="m2")
    ring._forget(b"m2/s")  # its key's tombstone
    ring._fold(MeetingShredded(tenant_id="t", meeting_id="m"))
    assert await ring.open(_frame(key)) is None and ring.erased("m")
    assert await ring.open(_frame(other, meeting="m2")) is None
    _issue(ring, key)  # a key issued after the erasure is never taken
    assert await ring.open(_frame(key)) is None


async def test_a_key_not_read_yet_is_waited_for_not_lost() -> None:
    with pytest.raises(KeyNotYet):
        await _ring(caught_up=False).open(_frame(new_key()))


async def test_a_key_under_another_master_key_is_refused_once(caplog: pytest.LogCaptureFixture) -> None:
    ring, key = _ring(), new_key()
    _issue(ring, key, master=parse_master_key(new_master_key()))
    with caplog.at_level(logging.WARNING):
        assert [await ring.open(_frame(key, seq=i)) for i in range(5)] == [None] * 5
    assert len([r for r in caplog.records if "does not open" in r.getMessage()]) == 1


async def test_a_damaged_frame_comes_back_failing_its_crc() -> None:
    ring, key = _ring(), new_key()
    _issue(ring, key)
    frame = _frame(key)
    damaged = frame.payload[:-1] + bytes([frame.payload[-1] ^ 1])
    opened = await ring.open(replace(frame, payload=damaged))
    assert opened is not None and not opened.sealed and len(opened.payload) == len(PCM)
    assert zlib.crc32(opened.payload) != opened.crc32  # the integrity check reports it


async def test_a_plain_frame_from_before_sealing_passes() -> None:
    frame = replace(_frame(new_key()), payload=PCM, sealed=False)
    assert await _ring().open(frame) == frame
