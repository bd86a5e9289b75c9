"""`stenograph bot-manager`: join requests on the commands topic become bots.

A consumer group on meetings.commands: JoinRequested launches a bot (within the per-host and
per-tenant limits); LeaveRequested and MeetingErased make the meeting's running bot leave (an
erased meeting's audio must not be captured any more). ConfigChanged is not the bot's: the
transcriber reads it from the commands topic and applies it from the next chunk. The manager
watches every bot: one that dies, or stops sending heartbeats, is stopped and marked failed
with the reason, so no bot stays "active" forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from aiokafka import AIOKafkaProducer

from stenograph.capture.bots.launcher import BotHandle, Launcher
from stenograph.capture.bots.settings import BotSettings
from stenograph.capture.bots.states import Happening, is_final, status_event
from stenograph.runtime import ConsumerConfig, GroupConsumer, Record, Step, metrics, reliable_producer
from stenograph.schemas import (
    COMMANDS,
    LIFECYCLE,
    BotState,
    JoinRequested,
    LeaveRequested,
    MeetingErased,
    codec,
    key_of,
)

log = logging.getLogger(__name__)


@dataclass
class Running:
    request: JoinRequested
    handle: BotHandle
    state: BotState = BotState.REQUESTED
    seen: float = field(default_factory=time.monotonic)
    watcher: asyncio.Task[None] | None = None


def refusal(running: list[JoinRequested], request: JoinRequested, settings: BotSettings) -> str | None:
    """Why a join request is refused here, or None. Pure."""
    if len(running) >= settings.bot_max_per_host:
        return "host_limit"
    if sum(r.tenant_id == request.tenant_id for r in running) >= settings.bot_max_per_tenant:
        return "tenant_limit"
    return None


class BotManager:
    def __init__(self, settings: BotSettings, launcher: Launcher, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.launcher = launcher
        self.producer = producer
        self.bots: dict[str, Running] = {}
        self._lifecycle = codec(LIFECYCLE)

    async def handle(self, event: object) -> None:
        """One command of the commands topic (the others' commands pass by)."""
        if isinstance(event, JoinRequested):
            await self._join(event)
        elif isinstance(event, LeaveRequested | MeetingErased) and (bot := self.bots.get(event.meeting_id)):
            reason = event.reason if isinstance(event, LeaveRequested) else Happening.MEETING_ERASED
            await bot.handle.send({"leave": str(reason)})

    async def _join(self, request: JoinRequested) -> None:
        if request.meeting_id in self.bots:
            return  # a re-delivered request for a bot that runs already
        max_age_ns = int(self.settings.bot_request_max_age_s * 1e9)
        if time.time_ns() - request.event_time_ns > max_age_ns:
            # a manager reading old commands (a new group) must not join past meetings; the
            # meeting must not stay `requested` either. Dated just after the request itself, the
            # failure loses to every status the meeting got since (a bot that did join).
            log.info("join request for %s expired", request.meeting_id)
            await self._status(request, BotState.REQUESTED, Happening.EXPIRED,
                               f"older_than_{self.settings.bot_request_max_age_s:.0f}s",
                               at_ns=request.event_time_ns + 1)
            return
        running = [b.request for b in self.bots.values()]
        if any((r.tenant_id, r.platform, r.native_meeting_id) ==
               (request.tenant_id, request.platform, request.native_meeting_id) for r in running):
            log.warning("refused a second bot for %s/%s", request.platform, request.native_meeting_id)
            await self._status(request, BotState.REQUESTED, Happening.DUPLICATE, "bot_already_in_meeting")
            return
        why = refusal(running, request, self.settings)
        if why is not None:
            log.warning("refused a bot for %s: %s", request.meeting_id, why)
            await self._status(request, BotState.REQUESTED, Happening.CAPACITY, why)
            return
        handle = await self.launcher.launch(request)
        bot = Running(request, handle)
        self.bots[request.meeting_id] = bot
        self._count()
        bot.watcher = asyncio.create_task(self._watch(bot))

    def _count(self) -> None:
        states = Counter(str(b.state) for b in self.bots.values())
        for state in BotState:
            metrics.BOTS.labels(str(state)).set(states.get(str(state), 0))

    async def _watch(self, bot: Running) -> None:
        """Follow a bot's reports until it ends; report its failure if it could not."""
        async for message in bot.handle.reports():
            bot.seen = time.monotonic()
            if "state" in message:
                with contextlib.suppress(ValueError):
                    bot.state = BotState(message["state"])
                self._count()
        code = await bot.handle.wait()
        self.bots.pop(bot.request.meeting_id, None)
        self._count()
        if not is_final(bot.state):
            log.warning("bot for %s ended (exit %s) while %s", bot.request.meeting_id, code, bot.state)
            await self._status(bot.request, bot.state, Happening.BROWSER_CRASHED, f"bot_exit_{code}")

    async def check_heartbeats(self) -> None:
        limit = self.settings.bot_heartbeat_timeout_s
        for bot in list(self.bots.values()):
            if time.monotonic() - bot.seen > limit and not is_final(bot.state):
                log.warning("bot for %s silent for %.0f s: stopped", bot.request.meeting_id, limit)
                state = bot.state
                bot.state = BotState.FAILED  # the watcher must not report a second failure
                self._count()
                await self._status(bot.request, state, Happening.HEARTBEAT_LOST, f"silent_{limit:.0f}s")
                await bot.handle.kill()

    async def _status(self, request: JoinRequested, current: BotState, what: Happening,
                      sub_code: str, *, at_ns: int | None = None) -> None:
        event = status_event(request, current, what, sub_code)
        if at_ns is not None:  # a status of the past: dated, and the same event when re-derived
            event = replace(event, event_time_ns=at_ns, event_id=f"{request.event_id}:{what}")
        await self.producer.send_and_wait(self.settings.topics.lifecycle,
                                          self._lifecycle.encode(event), key=key_of(event))

    async def stop_all(self) -> None:
        """On shutdown, bots are asked to leave, then stopped if they linger."""
        for bot in list(self.bots.values()):
            await bot.handle.send({"leave": "manager_stopped"})
        watchers = [b.watcher for b in self.bots.values() if b.watcher is not None]
        if watchers:
            _done, pending = await asyncio.wait(watchers, timeout=self.settings.bot_leave_timeout_s + 10)
            for bot in list(self.bots.values()):
                await bot.handle.kill()
            for task in pending:
                task.cancel()


async def run_manager(settings: BotSettings, launcher: Launcher, stop: asyncio.Event,
                      on_ready: Callable[[], None] | None = None) -> None:
    producer = reliable_producer(settings.kafka_bootstrap_servers)
    config = ConsumerConfig(bootstrap=settings.kafka_bootstrap_servers,
                            group_id=settings.bot_manager_group_id, stage="bot-manager",
                            topics=settings.topics, bases=(COMMANDS,), max_records=100,
                            poll_timeout_s=0.5, auto_offset_reset=settings.bot_manager_offset_reset,
                            ready_on_assignment=True)
    await producer.start()
    manager = BotManager(settings, launcher, producer)

    def ready() -> None:
        log.info("bot manager: up to %d bots here, %d per tenant", settings.bot_max_per_host,
                 settings.bot_max_per_tenant)
        if on_ready is not None:
            on_ready()

    try:
        await GroupConsumer(config, _Commands(manager), producer).run(stop, ready)
    finally:
        await manager.stop_all()
        await producer.stop()


class _Commands(Step):
    def __init__(self, manager: BotManager) -> None:
        self.manager = manager

    async def submit(self, record: Record) -> bool:
        await self.manager.handle(record.event)
        return False

    async def poll(self) -> bool:
        await self.manager.check_heartbeats()
        return False
