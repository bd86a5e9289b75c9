"""Live delivery: transcript and status updates from Kafka to WebSocket and SSE subscribers.

Every API process reads the transcript changes and lifecycle topics (from their end at start-up), so
any replica serves any meeting. A subscriber is registered before its snapshot is read from
Redis; the aggregator writes Redis before it publishes, so nothing falls between the two, and
LiveView keeps the overlap from repeating anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stenograph.api.liveview import LiveView, wire
from stenograph.readmodel import ReadStore
from stenograph.runtime import TopicReader
from stenograph.schemas import (
    LIFECYCLE,
    LIVE_RUN,
    NATIVE_ID,
    PLATFORMS,
    SETTLED_RUN,
    TRANSCRIPT_CHANGES,
    BotStatusChanged,
    CodecError,
    SegmentChanged,
    TopicNames,
    TranscriptCompleted,
    TranscriptSegment,
    codec,
)

log = logging.getLogger(__name__)

Update = tuple[str, Any]  # ("transcript", segments) or ("status", state)


def _now() -> str:
    return datetime.now(tz=UTC).isoformat()


class LiveHub:
    def __init__(self, bootstrap: str, topics: TopicNames) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.ready = asyncio.Event()
        self._subs: dict[str, set[tuple[str, asyncio.Queue[Update]]]] = {}

    def subscribe(self, tenant: str, meeting_id: str) -> asyncio.Queue[Update]:
        queue: asyncio.Queue[Update] = asyncio.Queue()
        self._subs.setdefault(meeting_id, set()).add((tenant, queue))
        return queue

    def unsubscribe(self, meeting_id: str, tenant: str, queue: asyncio.Queue[Update]) -> None:
        subs = self._subs.get(meeting_id, set())
        subs.discard((tenant, queue))
        if not subs:
            self._subs.pop(meeting_id, None)

    async def run(self, stop: asyncio.Event) -> None:
        changes, lifecycle = codec(TRANSCRIPT_CHANGES), codec(LIFECYCLE)
        topics = [self.topics.transcript_changes, self.topics.lifecycle]
        async with TopicReader(self.bootstrap, topics) as reader:
            self.ready.set()
            while not stop.is_set():
                for r in await reader.batch():
                    subs = self._subs.get(r.key.decode()) if r.key and r.value else None
                    if not subs:
                        continue
                    try:
                        is_change = r.topic == self.topics.transcript_changes
                        event = (changes if is_change else lifecycle).decode(r.value)
                    except CodecError:
                        continue
                    update = _update(event)
                    for tenant, queue in list(subs):
                        if update is not None and tenant == event.tenant_id:
                            queue.put_nowait(update)


def _update(event: object) -> Update | None:
    """What a subscriber is told: the aggregator's deltas, and the meeting's status."""
    if isinstance(event, SegmentChanged) and event.run_id == LIVE_RUN:
        return ("transcript", [event.segment])
    if isinstance(event, SegmentChanged) and event.run_id == SETTLED_RUN:
        return ("settled", [event.segment])
    if isinstance(event, TranscriptCompleted) and event.run_id == SETTLED_RUN:
        return ("settled", [])  # nothing new; the settled transcript may now be complete
    if isinstance(event, BotStatusChanged):
        return ("status", str(event.state))
    return None


def _refs(meetings: Any) -> list[tuple[str, str]] | None:
    if not isinstance(meetings, list) or not meetings or len(meetings) > 100:
        return None
    refs = []
    for m in meetings:
        platform = m.get("platform") if isinstance(m, dict) else None
        native = m.get("native_id") if isinstance(m, dict) else None
        if platform not in PLATFORMS or not isinstance(native, str) or not NATIVE_ID.fullmatch(native):
            return None
        refs.append((str(platform), native))
    return refs


@dataclass
class _Settled:
    """What one subscriber has been sent of the settled run."""

    view: LiveView = field(default_factory=LiveView)
    complete: bool = False


@dataclass
class LiveSession:
    """One client's subscriptions; everything it is sent goes through `outbox`."""

    hub: LiveHub
    store: ReadStore
    tenant: str
    outbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _pumps: dict[tuple[str, str], asyncio.Task[None]] = field(default_factory=dict)

    async def handle(self, message: Any) -> None:
        """One client message: subscribe, unsubscribe or ping."""
        action = message.get("action") if isinstance(message, dict) else None
        if action == "ping":
            await self.outbox.put({"type": "pong"})
            return
        if action not in ("subscribe", "unsubscribe"):
            await self.outbox.put({"type": "error", "error": "action must be subscribe, unsubscribe or ping"})
            return
        refs = _refs(message.get("meetings"))
        if refs is None:
            await self.outbox.put({"type": "error",
                                   "error": "meetings must be a list of {platform, native_id}"})
            return
        done = []
        for platform, native in refs:
            if action == "subscribe" and await self.subscribe(platform, native):
                done.append({"platform": platform, "native_id": native})
            elif action == "unsubscribe":
                await self.unsubscribe(platform, native)
                done.append({"platform": platform, "native_id": native})
        if done:
            await self.outbox.put({"type": f"{action}d", "meetings": done})

    async def subscribe(self, platform: str, native: str) -> bool:
        if (platform, native) in self._pumps:
            return True
        meeting_id = await self.store.resolve(self.tenant, platform, native)
        if meeting_id is None:  # missing and foreign look the same
            await self.outbox.put({"type": "error", "error": f"no meeting {platform}/{native}"})
            return False
        ref = {"platform": platform, "native_id": native, "id": meeting_id}
        queue = self.hub.subscribe(self.tenant, meeting_id)  # before the snapshot: no gap
        view = LiveView()
        meeting = await self.store.meeting(self.tenant, meeting_id)
        segments = list(await self.store.live_segments(self.tenant, meeting_id))
        settled = list(await self.store.live_segments(self.tenant, meeting_id, SETTLED_RUN))
        snapshot: list[Update] = [("transcript", segments), ("settled", settled)]
        if meeting is not None:
            snapshot.insert(0, ("status", meeting.status))
        self._pumps[(platform, native)] = asyncio.create_task(self._pump(ref, queue, view, snapshot))
        return True

    async def unsubscribe(self, platform: str, native: str) -> None:
        task = self._pumps.pop((platform, native), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        for platform, native in list(self._pumps):
            await self.unsubscribe(platform, native)

    async def _pump(self, ref: dict[str, str], queue: asyncio.Queue[Update], view: LiveView,
                    snapshot: list[Update]) -> None:
        settled = _Settled()
        try:
            for update in snapshot:
                await self._send(ref, view, update, settled)
            while True:
                await self._send(ref, view, await queue.get(), settled)
        finally:
            self.hub.unsubscribe(ref["id"], self.tenant, queue)

    async def _send(self, ref: dict[str, str], view: LiveView, update: Update, settled: _Settled) -> None:
        kind, value = update
        if kind == "status":
            await self.outbox.put({"type": "meeting.status", "meeting": ref,
                                   "payload": {"status": value}, "ts": _now()})
            return
        if kind == "settled":  # new settled segments, and once: the settled transcript is complete
            _, new = settled.view.apply(value)
            runs = await self.store.runs(self.tenant, ref["id"])
            complete = any(r["run_id"] == SETTLED_RUN and r["state"] == "completed" for r in runs)
            if new or (complete and not settled.complete):
                settled.complete = complete
                await self.outbox.put({"type": "transcript.settled", "meeting": ref, "payload": {
                    "segments": [wire(s) for s in new], "complete": complete}, "ts": _now()})
            return
        segments: list[TranscriptSegment] = value
        mutable, finalized = view.apply(segments)
        for name, items in (("transcript.finalized", finalized), ("transcript.mutable", mutable)):
            if items:
                await self.outbox.put({"type": name, "meeting": ref,
                                       "payload": {"segments": [wire(s) for s in items]}, "ts": _now()})
