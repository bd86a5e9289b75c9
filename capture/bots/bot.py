"""One bot in one meeting: join in Chromium, publish the call's audio and what the page shows.

The bot process is started by the bot manager (or `stenograph bot`). It reports its state
changes and a heartbeat as JSON lines on stdout, and takes `{"leave": reason}` lines on stdin
(its only command: the transcriber applies a meeting's language and task itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import stat
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright

from stenograph.capture.audio import Reframer, SessionInfo
from stenograph.capture.bots import browser
from stenograph.capture.bots.bridge import Bridge, Chunk
from stenograph.capture.bots.join import JoinError, ask_to_join, leave_call
from stenograph.capture.bots.leave import LeaveRules, LeaveWatch
from stenograph.capture.bots.platforms import PlatformUi, ui_for
from stenograph.capture.bots.settings import BotSettings
from stenograph.capture.bots.states import Happening, is_final, status_event
from stenograph.capture.bots.verdict import Probe, verdict
from stenograph.capture.publisher import SessionPublisher
from stenograph.schemas import (
    LIFECYCLE,
    BotState,
    Event,
    JoinRequested,
    MeetingRef,
    MeetingUrlError,
    ParticipantChanged,
    SpeakerActivity,
    codec,
    frame_rms,
    key_of,
    meeting_target,
)

log = logging.getLogger(__name__)
Report = Callable[[dict[str, Any]], None]
Ending = tuple[Happening, str | None]


def stdout_report(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class BotRun:
    def __init__(self, request: JoinRequested, settings: BotSettings, producer: AIOKafkaProducer,
                 report: Report = stdout_report) -> None:
        self.request = request
        self.settings = settings
        self.producer = producer
        self.report = report
        self.session_id = uuid.uuid4().hex
        self.ref = MeetingRef(request.platform, request.native_meeting_id)
        self.state = BotState.REQUESTED
        self.control: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.crashed = asyncio.Event()
        self.audible_at: float | None = None
        self.publisher: SessionPublisher | None = None
        self.reframer: Reframer | None = None
        self._lifecycle = codec(LIFECYCLE)
        self._pumps: list[asyncio.Task[None]] = []

    # --- reporting -------------------------------------------------------------------------

    async def emit(self, event: Event) -> None:
        await self.producer.send_and_wait(self.settings.topics.lifecycle,
                                          self._lifecycle.encode(event), key=key_of(event))

    async def happen(self, what: Happening, sub_code: str | None = None, reason: str | None = None) -> None:
        event = status_event(self.request, self.state, what, sub_code, reason=reason,
                             session_id=self.session_id)
        self.state = event.state
        await self.emit(event)
        self.report({"state": str(event.state), "reason": event.reason, "sub_code": sub_code})
        log.info("%s: %s (%s%s)", self.ref, event.state, event.reason, f": {sub_code}" if sub_code else "")

    # --- the run ---------------------------------------------------------------------------

    async def run(self) -> int:
        r = self.request
        try:
            target = meeting_target(r.platform, r.native_meeting_id, r.passcode)
            rules = LeaveRules.from_request(r.automatic_leave)
        except (MeetingUrlError, ValueError) as exc:
            await self.happen(Happening.INVALID_URL, str(exc))
            return 2
        ui = ui_for(r.platform)
        bridge = Bridge()
        bridge_url = await bridge.start()
        heartbeat = asyncio.create_task(self._heartbeat())
        workdir = tempfile.TemporaryDirectory(prefix="stenograph-bot-")
        try:
            async with async_playwright() as pw:
                chromium = await browser.launch(pw, self.settings, Path(workdir.name))
                chromium.on("disconnected", lambda _: self.crashed.set())
                try:
                    script = browser.capture_script(ui, r.bot_name, bridge_url, self.settings)
                    context = await browser.new_context(chromium, self.settings, script)
                    page = await context.new_page()
                    page.on("crash", lambda _: self.crashed.set())
                    page.on("console", lambda m: log.debug("page: %s", m.text))
                    page.on("pageerror", lambda e: log.warning("page error: %s", e))
                    await self.happen(Happening.LAUNCHED)
                    ending = await self._attend(page, ui, ui.open_url(target), rules, bridge)
                    await self._end(page, ui, ending, bridge)
                except Exception as exc:
                    log.exception("%s: the bot broke", self.ref)
                    if not is_final(self.state):  # never leave a bot "active" behind
                        await self.happen(Happening.BROWSER_CRASHED, f"{type(exc).__name__}: {exc}")
                finally:
                    with contextlib.suppress(PlaywrightError):
                        await chromium.close()
        finally:
            heartbeat.cancel()
            await bridge.close()
            workdir.cleanup()
        return 0 if self.state == BotState.COMPLETED else 1

    async def _attend(self, page: Page, ui: PlatformUi, url: str, rules: LeaveRules,
                      bridge: Bridge) -> Ending:
        """From asking to join until the bot's time in the meeting ends; returns how it ended."""
        watch = LeaveWatch(rules, time.monotonic())
        try:
            await ask_to_join(page, ui, url, self.request.bot_name, self.settings.bot_join_timeout_s)
        except JoinError as exc:
            return Happening.JOIN_FAILED, str(exc)
        except PlaywrightError as exc:
            if self.crashed.is_set():
                return Happening.BROWSER_CRASHED, str(exc).splitlines()[0]
            return Happening.JOIN_FAILED, str(exc).splitlines()[0]
        gone = 0
        while True:
            if (leave := self._leave_request()) is not None:
                return leave
            if self.crashed.is_set():
                return Happening.BROWSER_CRASHED, None
            try:
                probe = Probe.of(await page.evaluate("window.__stenograph.probe()"))
            except PlaywrightError as exc:
                await asyncio.sleep(0.2)  # a crash event may be on its way
                if self.crashed.is_set() or page.is_closed():
                    return Happening.BROWSER_CRASHED, str(exc).splitlines()[0]
                # the page is between two of its screens: only the lobby's clock goes on
                if self.state != BotState.ACTIVE and (rule := watch.waiting(time.monotonic())):
                    return rule, None
                await asyncio.sleep(self.settings.bot_probe_interval_s)
                continue
            now = time.monotonic()
            found = verdict(self.state, probe)
            if found is not None and found[1] == "call_ui_gone" and gone < 3:
                gone += 1  # the call's UI re-renders now and then; gone three times is gone
                found = None
            elif self.state == BotState.ACTIVE:
                gone = 0
            if found is not None:
                what = found[0]
                if what == Happening.IN_LOBBY:
                    await self.happen(what)
                elif what == Happening.ADMITTED:
                    await self.happen(what)
                    watch.admitted(now)
                    await page.evaluate("window.__stenograph.start()")
                    self._pumps = [asyncio.create_task(self._pump_audio(bridge)),
                                   asyncio.create_task(self._pump_events(bridge))]
                else:
                    return found
            elif self.state == BotState.ACTIVE:
                audible = self.audible_at is not None and now - self.audible_at < 2.0
                if (rule := watch.in_call(now, probe.others, audible)) is not None:
                    return rule, None
            elif (rule := watch.waiting(now)) is not None:
                return rule, None
            await asyncio.sleep(self.settings.bot_probe_interval_s)

    async def _end(self, page: Page, ui: PlatformUi, ending: Ending, bridge: Bridge) -> None:
        what, sub_code = ending
        if self._pumps:  # everything captured is published before the bot says it is out
            with contextlib.suppress(PlaywrightError):
                await page.evaluate("window.__stenograph.stop()")
            await self._finish_audio(bridge)
        await self.happen(what, sub_code)
        if self.state == BotState.LEAVING:
            with contextlib.suppress(PlaywrightError):
                await leave_call(page, ui, self.settings.bot_leave_timeout_s)
            await self.happen(Happening.LEFT, sub_code, reason=str(what))  # completed, with why
        assert is_final(self.state), self.state

    def _leave_request(self) -> Ending | None:
        """A leave the manager asked for: an erased meeting ends as `meeting_erased`, any other
        leave as `leave_requested` with the asker's reason as its sub-code."""
        while not self.control.empty():
            message = self.control.get_nowait()
            if "leave" in message:
                why = str(message.get("leave") or Happening.LEAVE_REQUESTED)
                erased = why == Happening.MEETING_ERASED
                return (Happening.MEETING_ERASED if erased else Happening.LEAVE_REQUESTED), why
        return None

    # --- audio and observations ------------------------------------------------------------

    async def _pump_audio(self, bridge: Bridge) -> None:
        while (chunk := await bridge.audio.get()) is not None:
            await self._publish(chunk)

    async def _publish(self, chunk: Chunk) -> None:
        if self.publisher is None or self.reframer is None:
            r = self.request
            session = SessionInfo(tenant_id=r.tenant_id, meeting_id=r.meeting_id,
                                  session_id=self.session_id, started_at_ns=int(chunk.at_ms * 1e6),
                                  source="bot")
            self.publisher = SessionPublisher(self.producer, self.settings.topics, session, self.ref,
                                              self.settings.master_key)
            self.reframer = Reframer(session, self.settings.bot_frame_ms)
        if frame_rms(chunk.pcm) >= self.settings.bot_audible_rms:
            self.audible_at = time.monotonic()
        frames = self.reframer.push(chunk.pcm)
        for frame in frames:
            await self.publisher.push(frame)
        if frames:
            await self.publisher.flush()

    async def _finish_audio(self, bridge: Bridge) -> None:
        """Publish what the page sent up to now, then the session's last frame.

        The pumps are stopped by a marker at the end of their queues, never cancelled: a
        cancelled flush would cancel the producer's in-flight sends with it.
        """
        await asyncio.sleep(0.3)  # the last chunks in flight from the page
        await bridge.audio.put(None)
        await bridge.events.put(None)
        await asyncio.gather(*self._pumps)
        while not bridge.audio.empty():  # whatever arrived after the marker
            if (chunk := bridge.audio.get_nowait()) is not None:
                await self._publish(chunk)
        if self.publisher is None or self.reframer is None:
            return  # admitted, but the page never sent a sample
        await self.publisher.push(self.reframer.finish())
        result = await self.publisher.finish()
        log.info("%s: %d frames, %.1f s of audio", self.ref, result.frames, result.audio_seconds)

    async def _pump_events(self, bridge: Bridge) -> None:
        while (message := await bridge.events.get()) is not None:
            await self._observe(message)

    async def _observe(self, message: dict[str, Any]) -> None:
        r = self.request
        kind = message.get("type")
        try:
            at_ns = int(float(message["at"]) * 1e6)
            if kind == "speaker":
                await self.emit(SpeakerActivity(
                    tenant_id=r.tenant_id, meeting_id=r.meeting_id, session_id=self.session_id,
                    participant_id=str(message["id"]), name=str(message["name"]),
                    speaking=bool(message["speaking"]), at_ns=at_ns))
            elif kind == "participant":
                await self.emit(ParticipantChanged(
                    tenant_id=r.tenant_id, meeting_id=r.meeting_id, session_id=self.session_id,
                    participant_id=str(message["id"]), name=str(message["name"]),
                    joined=bool(message["joined"]), event_time_ns=at_ns))
            elif kind == "track":
                log.info("%s: %d remote audio source(s)", self.ref, int(message.get("count", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s: dropped a page observation %r: %s", self.ref, message, exc)

    # --- talking to the manager ------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            self.report({"heartbeat": time.time(), "state": str(self.state)})
            await asyncio.sleep(self.settings.bot_heartbeat_s)

    async def read_control(self, reader: asyncio.StreamReader, *, managed: bool) -> None:
        """Lines from the manager; for a managed bot, end of input (the manager is gone) means leave."""
        while line := await reader.readline():
            with contextlib.suppress(json.JSONDecodeError):
                message = json.loads(line)
                if isinstance(message, dict):
                    await self.control.put(message)
        if managed:
            await self.control.put({"leave": "manager_gone"})


def parse_request(text: str) -> JoinRequested:
    """The JoinRequested a manager hands its bot, as JSON of the event's fields."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the request must be a JSON object")
    return JoinRequested(**data)


async def run_bot(request: JoinRequested, settings: BotSettings, *, managed: bool = False) -> int:
    from stenograph.runtime import reliable_producer

    producer = reliable_producer(settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        bot = BotRun(request, settings, producer)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        if stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):  # a manager's pipe, not a file
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        else:
            reader.feed_eof()
        control = asyncio.create_task(bot.read_control(reader, managed=managed))
        try:
            return await bot.run()
        finally:
            control.cancel()
    finally:
        await producer.stop()
