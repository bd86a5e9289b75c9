"""`stenograph gateway`: WhisperLive clients in, audio frames to Kafka, their segments back.

The gateway holds no model: audio goes to the audio topic like any capture source, and what a
client sees comes from its meeting's events on the segments topic, so gateways scale freely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from aiokafka import AIOKafkaProducer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from stenograph.capture.audio import Reframer, SessionInfo
from stenograph.capture.publisher import SessionPublisher
from stenograph.capture.whisperlive import protocol as wl
from stenograph.capture.whisperlive.router import SegmentRouter
from stenograph.capture.whisperlive.settings import GatewaySettings
from stenograph.capture.whisperlive.side import side_events
from stenograph.capture.whisperlive.view import SegmentView, is_session_end
from stenograph.runtime import TableFeed, reliable_producer, wait_unless_failed
from stenograph.schemas import (
    COMMANDS,
    TENANTS,
    BotState,
    ConfigChanged,
    KeyTable,
    MeetingRef,
    SegmentEvent,
    codec,
    key_of,
)

log = logging.getLogger(__name__)

CLOSE_NORMAL, CLOSE_POLICY, CLOSE_UNSUPPORTED, CLOSE_TRY_LATER = 1000, 1008, 1003, 1013


def presented_key(handshake: wl.Handshake, path: str, authorization: str | None) -> str | None:
    """The API key from the handshake's token, a ?token= parameter or an Authorization header."""
    if handshake.token:
        return handshake.token
    query = parse_qs(urlsplit(path).query).get("token")
    if query:
        return query[0]
    if authorization:
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value else authorization.strip()
    return None


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.topics = settings.topics
        self.keys = KeyTable()
        self.key_feed = TableFeed(settings.kafka_bootstrap_servers, self.topics.tenants, TENANTS,
                                  self.keys.apply)
        self.router = SegmentRouter(settings.kafka_bootstrap_servers, self.topics.segments)
        self.streams: set[str] = set()
        self._producer: AIOKafkaProducer | None = None

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> None:
        self._producer = reliable_producer(self.settings.kafka_bootstrap_servers)
        await self._producer.start()
        feeds = [asyncio.create_task(self.key_feed.run(stop)), asyncio.create_task(self.router.run(stop))]
        try:
            await wait_unless_failed(feeds, asyncio.gather(self.key_feed.ready.wait(),
                                                       self.router.ready.wait()))
            async with serve(self._serve, self.settings.gateway_host, self.settings.gateway_port,
                             max_size=4 * 1024 * 1024, ping_interval=20, ping_timeout=20):
                log.info("gateway listening on %s:%d", self.settings.gateway_host,
                         self.settings.gateway_port)
                if on_ready is not None:
                    on_ready()
                await wait_unless_failed(feeds, stop.wait())
        finally:
            stop.set()
            await asyncio.gather(*feeds, return_exceptions=True)
            await self._producer.stop()

    async def _tenant(self, key: str | None) -> str | None:
        if key is None:
            return self.settings.gateway_tenant
        tenant = self.keys.tenant_of(key)
        if tenant is None and await self.key_feed.caught_up(timeout=2.0):
            tenant = self.keys.tenant_of(key)  # a key minted a moment ago
        return tenant

    async def _serve(self, ws: ServerConnection) -> None:
        try:
            async with asyncio.timeout(self.settings.gateway_handshake_timeout_s):
                first = await ws.recv()
        except TimeoutError:
            await ws.close(CLOSE_POLICY, "no handshake")
            return
        except ConnectionClosed:
            return
        try:
            handshake = wl.parse_handshake(first)
        except wl.ProtocolError as exc:
            await self._refuse(ws, "", str(exc), CLOSE_UNSUPPORTED)
            return
        uid = handshake.uid
        key = presented_key(handshake, ws.request.path if ws.request else "",
                            ws.request.headers.get("Authorization") if ws.request else None)
        tenant = await self._tenant(key)
        if tenant is None:
            why = "an API key is required" if key is None else "unknown or revoked API key"
            await self._refuse(ws, uid, f"unauthorized: {why}", CLOSE_POLICY)
            return
        if len(self.streams) >= self.settings.gateway_max_connections:
            log.warning("at capacity (%d streams): WAIT for %s", len(self.streams), uid)
            with contextlib.suppress(ConnectionClosed):
                await ws.send(wl.wait(uid, 1.0))  # no stream has a known end: about a minute
                await ws.close(CLOSE_TRY_LATER, "at capacity")
            return
        assert self._producer is not None
        stream = Stream(self, ws, handshake, tenant, self._producer)
        self.streams.add(stream.session.meeting_id)
        try:
            await stream.run()
        finally:
            self.streams.discard(stream.session.meeting_id)

    @staticmethod
    async def _refuse(ws: ServerConnection, uid: str, message: str, code: int) -> None:
        log.info("refused %s: %s", uid or "a client", message)
        with contextlib.suppress(ConnectionClosed):
            await ws.send(wl.error(uid, message))
            await ws.close(code, message[:120])


class Stream:
    """One client connection: one capture session of a new meeting."""

    def __init__(self, gateway: Gateway, ws: ServerConnection, handshake: wl.Handshake,
                 tenant: str, producer: AIOKafkaProducer) -> None:
        self.gateway = gateway
        self.settings = gateway.settings
        self.ws = ws
        self.hs = handshake
        self.uid = handshake.uid
        self.producer = producer
        self.session = SessionInfo(tenant_id=tenant, meeting_id=uuid.uuid4().hex,
                                   session_id=uuid.uuid4().hex, started_at_ns=time.time_ns(),
                                   source="whisperlive")
        self.ref = MeetingRef(*handshake.meeting_ref())
        self.publisher = SessionPublisher(producer, gateway.topics, self.session, self.ref,
                                          gateway.settings.master_key)
        self.reframer = Reframer(self.session, self.settings.gateway_frame_ms)
        self.view = SegmentView(self.session.session_id, handshake.send_last_n_segments)
        self.ended = asyncio.Event()
        self.open = True
        self.end_of_audio_ns: int | None = None
        self.last_completed_ns: int | None = None

    async def send(self, message: str) -> None:
        if not self.open:
            return
        try:
            await self.ws.send(message)
        except ConnectionClosed:
            self.open = False

    async def run(self) -> None:
        s = self.session
        queue = self.gateway.router.subscribe(s.meeting_id)
        sender = asyncio.create_task(self._forward(queue))
        try:
            if self.hs.language is not None or self.hs.task != "transcribe":
                config = ConfigChanged(tenant_id=s.tenant_id, meeting_id=s.meeting_id,
                                       language=self.hs.language, task=self.hs.task,
                                       event_time_ns=s.started_at_ns)  # for the whole session
                await self.producer.send_and_wait(self.gateway.topics.commands,
                                                  codec(COMMANDS).encode(config), key=key_of(config))
            await self.publisher.status(BotState.ACTIVE, "stream_started")
            log.info("stream %s: meeting %s (%s) for tenant %s", self.uid, s.meeting_id, self.ref,
                     s.tenant_id)
            await self.send(wl.server_ready(self.uid))
            reason, problem = await self._receive()
            # nothing received is lost: the buffered tail goes out as the session's last frame
            await self.publisher.push(self.reframer.finish())
            result = await self.publisher.finish()
            state = BotState.FAILED if problem else BotState.COMPLETED
            await self.publisher.status(state, reason)
            log.info("stream %s ended (%s): %d frames, %.1f s", self.uid, reason, result.frames,
                     result.audio_seconds)
            if problem:
                await self.send(wl.error(self.uid, problem))
            if self.open:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.gateway_final_timeout_s):
                        await self.ended.wait()  # the transcriber has emitted everything
                await self.send(wl.disconnect(self.uid))
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self.gateway.router.unsubscribe(s.meeting_id)
            with contextlib.suppress(ConnectionClosed):
                await self.ws.close(CLOSE_NORMAL if self.open else self.ws.close_code or CLOSE_NORMAL)

    async def _receive(self) -> tuple[str, str | None]:
        """Audio and side messages until the end; (reason, problem to report or None)."""
        while True:
            try:
                async with asyncio.timeout(self.settings.gateway_idle_timeout_s):
                    message = await self.ws.recv()
            except TimeoutError:
                return "client_silent", None
            except ConnectionClosed:
                self.open = False
                return "client_gone", None
            if isinstance(message, bytes):
                if message == wl.END_OF_AUDIO:
                    self.end_of_audio_ns = time.monotonic_ns()
                    return "end_of_audio", None
                try:
                    pcm = wl.to_pcm16(message, self.hs.audio_format)
                except wl.ProtocolError as exc:
                    return "bad_audio", str(exc)
                for frame in self.reframer.push(pcm):
                    await self.publisher.push(frame)
                await self.publisher.flush()
                continue
            try:
                side = wl.parse_side_message(message)
                events = side_events(
                    side, tenant_id=self.session.tenant_id, meeting_id=self.session.meeting_id,
                    session_id=self.session.session_id,
                    session_started_at_ns=self.session.started_at_ns, platform=self.ref.platform,
                    native_meeting_id=self.ref.native_meeting_id,
                )
            except wl.ProtocolError as exc:
                await self.send(wl.reply(self.uid, status="WARNING", message=str(exc)))
                continue  # a bad side message never costs the audio
            for event in events:
                await self.publisher.lifecycle(event)

    async def _forward(self, queue: asyncio.Queue[SegmentEvent]) -> None:
        """Segments of this session to the client, in WhisperLive's shape."""
        announced = self.hs.language is not None
        while True:
            event = await queue.get()
            if is_session_end(event, self.session.session_id):
                self.ended.set()
                continue
            if not self.view.apply(event):
                continue
            if not announced and self.view.language is not None:
                announced = True
                await self.send(wl.language_detected(self.uid, *self.view.language))
            if event.completed and not event.retires:
                self.last_completed_ns = time.monotonic_ns()
            items = self.view.message_items()
            if items:
                await self.send(wl.segments(self.uid, items))
            if event.retires and (settled := self.view.settled_item()) is not None:
                await self.send(wl.segments(self.uid, [settled]))
