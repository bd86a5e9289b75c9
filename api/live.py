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
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stenograph.api.liveview import LiveView, wire
from stenograph.readmodel import ReadStore
from stenograph.runtime import TopicReader, metrics
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

# ("transcript", segments), ("settled", segments), ("settled.complete", None) or ("status", state)
Update = tuple[str, Any]


def _now() -> str:
    return datetime.now(tz=UTC).isoformat()


QUEUE_MAX = 1000  # updates a subscriber may have waiting; past that it is dropped, told why
OUTBOX_MAX = 1000  # messages waiting to be written to one client
OVERFLOW: Update = ("overflow", None)  # this subscriber fell behind
RESTARTED: Update = ("restarted", None)  # the live feed read again from the end


class LiveHub:
    """Every API process's one reader of the live topics, fanning updates out to subscribers.

    Queues are bounded: a subscriber that falls QUEUE_MAX updates behind is dropped with an
    OVERFLOW marker (its client resubscribes and gets a fresh snapshot), so one slow socket
    cannot grow the process. A failed read is retried from the topics' end; `healthy` says
    whether it is reading now, and /readyz reports it.
    """

    def __init__(self, bootstrap: str, topics: TopicNames, queue_max: int = QUEUE_MAX) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.queue_max = queue_max
        self.ready = asyncio.Event()
        self.healthy = False
        self.dropped = 0  # subscribers dropped for falling behind
        self._started = time.monotonic()
        self._subs: dict[str, set[tuple[str, asyncio.Queue[Update]]]] = {}

    def subscribe(self, tenant: str, meeting_id: str) -> asyncio.Queue[Update]:
        queue: asyncio.Queue[Update] = asyncio.Queue(self.queue_max + 1)  # room for the marker
        self._subs.setdefault(meeting_id, set()).add((tenant, queue))
        self._count()
        return queue

    def unsubscribe(self, meeting_id: str, tenant: str, queue: asyncio.Queue[Update]) -> None:
        subs = self._subs.get(meeting_id, set())
        subs.discard((tenant, queue))
        if not subs:
            self._subs.pop(meeting_id, None)
        self._count()

    def _count(self) -> None:
        metrics.LIVE_SUBSCRIBERS.set(sum(len(subs) for subs in self._subs.values()))

    def deliver(self, meeting_id: str, tenant: str, update: Update) -> None:
        """One update to the meeting's subscribers of that tenant."""
        for sub_tenant, queue in list(self._subs.get(meeting_id, ())):
            if sub_tenant != tenant:
                continue
            if queue.qsize() < self.queue_max:
                queue.put_nowait(update)
                continue
            self.unsubscribe(meeting_id, sub_tenant, queue)
            queue.put_nowait(OVERFLOW)
            self.dropped += 1
            log.warning("live subscriber of %s dropped: %d updates behind", meeting_id, self.queue_max)

    @property
    def _read_for_s(self) -> float:
        return time.monotonic() - self._started

    def _drop_all(self) -> None:
        for meeting_id, subs in list(self._subs.items()):
            for tenant, queue in list(subs):
                self.unsubscribe(meeting_id, tenant, queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESTARTED)

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await self._read(stop)
            except Exception:
                self.healthy = False
                self._drop_all()  # what they missed meanwhile comes with their next snapshot
                delay = (1.0, 2.0, 5.0, 10.0)[min(failures, 3)]
                failures = 0 if self._read_for_s > 60 else failures + 1
                log.exception("live feed failed; reading again from the end in %.0f s", delay)
                await asyncio.sleep(delay)

    async def _read(self, stop: asyncio.Event) -> None:
        changes, lifecycle = codec(TRANSCRIPT_CHANGES), codec(LIFECYCLE)
        topics = [self.topics.transcript_changes, self.topics.lifecycle]
        started = time.monotonic()
        async with TopicReader(self.bootstrap, topics) as reader:
            # positioned at the end: subscriptions made while it was down were dropped, so every
            # snapshot from now on is followed by every delta after it
            self._drop_all()
            self.ready.set()
            self.healthy = True
            self._started = started
            while not stop.is_set():
                for r in await reader.batch():
                    try:
                        meeting_id = r.key.decode() if r.key and r.value else None
                    except UnicodeDecodeError:
                        continue  # not a meeting's key: no subscriber can want it
                    if meeting_id is None or meeting_id not in self._subs:
                        continue
                    try:
                        is_change = r.topic == self.topics.transcript_changes
                        event = (changes if is_change else lifecycle).decode(r.value)
                    except CodecError:
                        continue
                    update = _update(event)
                    if update is not None:
                        self.deliver(meeting_id, event.tenant_id, update)


def _update(event: object) -> Update | None:
    """What a subscriber is told: the aggregator's deltas, and the meeting's status."""
    if isinstance(event, SegmentChanged) and event.run_id == LIVE_RUN:
        return ("transcript", [event.segment])
    if isinstance(event, SegmentChanged) and event.run_id == SETTLED_RUN:
        return ("settled", [event.segment])
    if isinstance(event, TranscriptCompleted) and event.run_id == SETTLED_RUN:
        # every settled segment of the session came before it on the meeting's partition
        return ("settled.complete", None)
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
    # bounded: a client that does not read stalls its pumps, whose hub queues then overflow
    outbox: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(OUTBOX_MAX))
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
        # the run's state before its segments: the aggregator marks it completed only after every
        # segment of the session is in Redis, so a completed run's segments are all read below
        complete = any(r["run_id"] == SETTLED_RUN and r["state"] == "completed"
                       for r in await self.store.runs(self.tenant, meeting_id))
        settled = list(await self.store.live_segments(self.tenant, meeting_id, SETTLED_RUN))
        snapshot: list[Update] = [("transcript", segments), ("settled", settled)]
        if complete:
            snapshot.append(("settled.complete", None))
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
        why = None
        try:
            for update in snapshot:
                await self._send(ref, view, update, settled)
            while (update := await queue.get()) not in (OVERFLOW, RESTARTED):
                await self._send(ref, view, update, settled)
            why = ("subscriber too slow" if update is OVERFLOW else "live feed restarted")
        except Exception:  # a Redis error while sending, say: this subscription ends, told why
            log.exception("live subscription of %s failed", ref["id"])
            why = "this subscription failed"
        finally:
            self.hub.unsubscribe(ref["id"], self.tenant, queue)
            self._pumps.pop((ref["platform"], ref["native_id"]), None)  # it may be renewed
        await self.outbox.put({"type": "error", "meeting": ref,
                               "error": f"{why}: unsubscribed; subscribe again for the transcript so far"})

    async def _send(self, ref: dict[str, str], view: LiveView, update: Update, settled: _Settled) -> None:
        kind, value = update
        if kind == "status":
            await self.outbox.put({"type": "meeting.status", "meeting": ref,
                                   "payload": {"status": value}, "ts": _now()})
            return
        if kind in ("settled", "settled.complete"):
            await self._send_settled(ref, settled, value if kind == "settled" else None)
            return
        segments: list[TranscriptSegment] = value
        mutable, finalized = view.apply(segments)
        for name, items in (("transcript.finalized", finalized), ("transcript.mutable", mutable)):
            if items:
                await self.outbox.put({"type": name, "meeting": ref,
                                       "payload": {"segments": [wire(s) for s in items]}, "ts": _now()})

    async def _send_settled(self, ref: dict[str, str], settled: _Settled,
                            segments: list[TranscriptSegment] | None) -> None:
        """New settled segments, or (segments None) the settled transcript's completion, which
        comes after all of them. A new segment after the completion means another session of the
        meeting is settling: not complete again until that one's completion."""
        new = settled.view.apply(segments)[1] if segments is not None else []
        complete = segments is None or (settled.complete and not new)
        if new or complete != settled.complete:
            settled.complete = complete
            await self.outbox.put({"type": "transcript.settled", "meeting": ref, "payload": {
                "segments": [wire(s) for s in new], "complete": complete}, "ts": _now()})
