"""The bot manager's decisions with an in-memory launcher and producer (no processes, no Kafka)."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from stenograph.capture.bots.manager import BotManager
from stenograph.capture.bots.settings import BotSettings
from stenograph.schemas.codec import codec
from stenograph.schemas.events import (
    BotState,
    BotStatusChanged,
    ConfigChanged,
    JoinRequested,
    LeaveRequested,
    MeetingErased,
)
from stenograph.schemas.topics import LIFECYCLE

pytestmark = pytest.mark.asyncio


class FakeBot:
    def __init__(self) -> None:
        self.lines: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.code: int | None = None
        self.killed = False

    async def reports(self) -> AsyncIterator[dict[str, Any]]:
        while (line := await self.lines.get()) is not None:
            yield line

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    async def wait(self) -> int:
        return self.code if self.code is not None else 0

    async def kill(self) -> None:
        self.killed = True
        self.code = -9
        await self.lines.put(None)


class FakeLauncher:
    def __init__(self) -> None:
        self.bots: dict[str, FakeBot] = {}

    async def launch(self, request: JoinRequested) -> FakeBot:
        self.bots[request.meeting_id] = bot = FakeBot()
        return bot


class FakeProducer:
    def __init__(self) -> None:
        self.statuses: list[BotStatusChanged] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        event = codec(LIFECYCLE).decode(value)
        assert isinstance(event, BotStatusChanged)
        self.statuses.append(event)


def join(meeting: str, tenant: str = "acme", **kw: Any) -> JoinRequested:
    """A request for the Zoom meeting of this name (one native id per meeting name)."""
    native = str(1_000_000_000 + zlib.crc32(meeting.encode()) % 10**9)
    return JoinRequested(tenant_id=tenant, meeting_id=meeting, platform="zoom",
                         native_meeting_id=kw.pop("native", native), bot_name="b", **kw)


def manager(**settings: Any) -> tuple[BotManager, FakeLauncher, FakeProducer]:
    launcher, producer = FakeLauncher(), FakeProducer()
    s = BotSettings(bot_max_per_host=2, bot_max_per_tenant=5, bot_heartbeat_timeout_s=0.2, **settings)
    return BotManager(s, launcher, producer), launcher, producer  # type: ignore[arg-type]


async def test_a_join_launches_one_bot_even_when_redelivered() -> None:
    m, launcher, _ = manager()
    await m.handle(join("m1"))
    await m.handle(join("m1"))
    assert list(launcher.bots) == ["m1"]


async def test_a_leave_reaches_the_meetings_bot_and_a_config_change_does_not() -> None:
    """ConfigChanged is the transcriber's (it reads the commands topic itself): the bot has no
    use for a language or a task."""
    m, launcher, _ = manager()
    await m.handle(join("m1"))
    await m.handle(ConfigChanged(tenant_id="acme", meeting_id="m1", language="de"))
    await m.handle(LeaveRequested(tenant_id="acme", meeting_id="m1"))
    await m.handle(LeaveRequested(tenant_id="acme", meeting_id="other"))
    assert launcher.bots["m1"].sent == [{"leave": "leave_requested"}]


async def test_erasing_a_meeting_makes_its_bot_leave() -> None:
    """Once ignored: the bot of an erased meeting went on capturing its audio."""
    m, launcher, _ = manager()
    await m.handle(join("m1"))
    await m.handle(join("m2"))
    await m.handle(MeetingErased(tenant_id="acme", meeting_id="m1", platform="zoom", native_meeting_id="1"))
    await m.handle(MeetingErased(tenant_id="acme", meeting_id="gone", platform="zoom", native_meeting_id="2"))
    assert launcher.bots["m1"].sent == [{"leave": "meeting_erased"}]
    assert launcher.bots["m2"].sent == []


async def test_over_the_host_or_tenant_limit_the_request_fails_with_capacity() -> None:
    m, launcher, producer = manager()
    m.settings.bot_max_per_tenant = 1
    await m.handle(join("a1", tenant="a"))
    await m.handle(join("a2", tenant="a"))
    await m.handle(join("b1", tenant="b"))
    await m.handle(join("c1", tenant="c"))
    assert sorted(launcher.bots) == ["a1", "b1"]
    assert [(s.meeting_id, s.state, s.reason, s.sub_code) for s in producer.statuses] == [
        ("a2", BotState.FAILED, "capacity", "tenant_limit"),
        ("c1", BotState.FAILED, "capacity", "host_limit")]


async def test_an_expired_request_launches_nothing_and_fails_as_of_its_expiry() -> None:
    """Once skipped in silence, which left the meeting `requested` (409, a bot slot) forever."""
    m, launcher, producer = manager()
    asked = time.time_ns() - 3600 * 10**9
    await m.handle(join("old", event_time_ns=asked))
    assert launcher.bots == {}
    [status] = producer.statuses
    assert (status.state, status.reason) == (BotState.FAILED, "request_expired")
    # dated just after the request: every status the meeting got since (a bot that did join) wins
    assert status.event_time_ns == asked + 1


async def test_a_second_bot_for_the_same_meeting_is_refused() -> None:
    """Two POST /bots at once pass the API's check before either is recorded: two meeting ids,
    one meeting. The second request fails as a duplicate; another tenant's bot may join."""
    m, launcher, producer = manager()
    await m.handle(join("first", native="85173157171"))
    await m.handle(join("second", native="85173157171"))
    await m.handle(join("theirs", tenant="other", native="85173157171"))
    assert sorted(launcher.bots) == ["first", "theirs"]
    assert [(s.meeting_id, s.state, s.reason) for s in producer.statuses] == [
        ("second", BotState.FAILED, "duplicate")]


async def test_a_bot_that_dies_is_marked_failed_with_its_last_state() -> None:
    m, launcher, producer = manager()
    await m.handle(join("m1"))
    bot = launcher.bots["m1"]
    await bot.lines.put({"state": "active", "reason": "admitted"})
    bot.code = 137
    await bot.lines.put(None)
    await asyncio.sleep(0.05)
    assert "m1" not in m.bots
    [status] = producer.statuses
    assert (status.state, status.reason, status.sub_code) == \
        (BotState.FAILED, "browser_crashed", "bot_exit_137")


async def test_a_bot_that_ends_cleanly_is_not_reported_again() -> None:
    m, launcher, producer = manager()
    await m.handle(join("m1"))
    bot = launcher.bots["m1"]
    await bot.lines.put({"state": "completed", "reason": "left_alone"})
    await bot.lines.put(None)
    await asyncio.sleep(0.05)
    assert "m1" not in m.bots and producer.statuses == []


async def test_a_silent_bot_is_stopped_and_failed_once() -> None:
    m, launcher, producer = manager()
    await m.handle(join("m1"))
    await launcher.bots["m1"].lines.put({"state": "active", "heartbeat": 1})
    await asyncio.sleep(0.3)
    await m.check_heartbeats()
    await asyncio.sleep(0.05)
    assert launcher.bots["m1"].killed
    assert [(s.state, s.reason) for s in producer.statuses] == [(BotState.FAILED, "heartbeat_lost")]

