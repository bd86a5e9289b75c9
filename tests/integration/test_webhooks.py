"""Webhooks on the real stack: signed deliveries of status changes and the final transcript,
retried after a failure, logged per tenant; internal URLs refused. And a chaos fault: the target
answers 500, then refuses connections, then comes back."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord

from stenograph.runtime.readers import TopicReader
from stenograph.schemas import (
    LIFECYCLE,
    LIVE_RUN,
    SETTLED_RUN,
    TRANSCRIPT_CHANGES,
    BotStatusChanged,
    CodecError,
    TranscriptCompleted,
    codec,
)
from stenograph.schemas.webhook_signing import verify
from tests.checker import Verdict, deliveries
from tests.support import DATA, Pipeline, eventually, free_port

pytestmark = pytest.mark.integration


def first_fails(n: int) -> int:
    return 500 if n == 1 else 200


class Receiver(ThreadingHTTPServer):
    """Records every delivery and when it came (monotonic); answers `answer(n)` to the n-th one
    (by default 500 to the first, 200 afterwards); on `port` when given (a target come back)."""

    def __init__(self, answer: Callable[[int], int] = first_fails, port: int | None = None) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.times: list[float] = []
        receiver, lock = self, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    receiver.times.append(time.monotonic())
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    code = answer(len(receiver.received))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", port or free_port()), Handler)


@contextmanager
def serving(server: Receiver) -> Iterator[Receiver]:
    """The target up; on the way out down, its port closed: a connection is refused."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as server:
        yield server


@asynccontextmanager
async def hooked(pipeline: Pipeline, key: str, url: str, retry_delays: str,
                 group: str | None = None) -> AsyncIterator[str]:
    """The webhooks dispatcher (waiting `retry_delays` between attempts; in consumer group `group`
    when given) and an API that let a loopback target in; the tenant of `key` has its deliveries
    sent to `url`. Yields the secret."""
    dev_port = free_port()
    try:
        pipeline.start("api-dev", command="api", env={"STENOGRAPH_API_PORT": str(dev_port),
                                                      "STENOGRAPH_WEBHOOK_ALLOW_PRIVATE": "1"})
        pipeline.start("webhooks", env={"STENOGRAPH_WEBHOOK_ALLOW_PRIVATE": "1",
                                        "STENOGRAPH_WEBHOOK_RETRY_DELAYS_S": retry_delays,
                                        **({"STENOGRAPH_WEBHOOK_GROUP_ID": group} if group else {})})
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dev_port}", timeout=10,
                                     headers={"X-API-Key": key}) as dev:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await dev.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
            made = await dev.put("/user/webhook", json={"webhook_url": url})
            assert made.status_code == 200, made.text
            secret = made.json()["webhook_secret"]
            assert secret.startswith("whsec_")
        async with pipeline.client(key) as c:
            while (await c.get("/user/webhook")).json()["webhook_url"] != url:
                await asyncio.sleep(0.1)
        yield secret
    finally:
        for name in ("webhooks", "api-dev"):
            if (proc := pipeline.procs.pop(name, None)) is not None:
                proc.stop()


def stream_as(pipeline: Pipeline, tenant: str, path: Path, meeting: str) -> str:
    """`stenograph stream` as `tenant`: one session, published at once. Returns the meeting id."""
    proc = subprocess.run(
        [sys.executable, "-m", "stenograph", "stream", str(path), "--meeting", meeting],
        env={**os.environ, **pipeline.env(), "STENOGRAPH_TENANT": tenant}, capture_output=True, text=True,
        timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"id=([0-9a-f]{32})", proc.stdout)
    assert found, proc.stdout
    return found.group(1)


async def test_signed_deliveries_with_retry_and_a_log(pipeline: Pipeline, receiver: Receiver) -> None:
    tenant = f"hooks{uuid.uuid4().hex[:6]}"
    key = pipeline.mint_key(tenant)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    async with pipeline.client(key) as c:  # this API refuses internal targets
        refused = await c.put("/user/webhook", json={"webhook_url": url})
        assert refused.status_code == 422 and "loopback" in refused.text
        assert (await c.put("/user/webhook", json={"webhook_url": "ftp://x"})).status_code == 422
    async with hooked(pipeline, key, url, "0.3,0.6") as secret:
        native = f"hook-{uuid.uuid4().hex[:6]}"
        stream_as(pipeline, tenant, DATA / "jfk.flac", f"zoom/{native}")
        deadline = time.monotonic() + 90
        while not any(h.get("x-stenograph-event") == "transcript.finalized" for h, _ in receiver.received):
            assert time.monotonic() < deadline, [h.get("x-stenograph-event") for h, _ in receiver.received]
            await asyncio.sleep(0.2)

    for headers, body in receiver.received:
        assert verify(secret, int(headers["x-stenograph-timestamp"]), body, headers["x-stenograph-signature"])
    deliveries = [(h["x-stenograph-delivery"], json.loads(b)) for h, b in receiver.received]
    first_id = deliveries[0][0]
    assert [d for d, _ in deliveries].count(first_id) == 2  # the 500 was retried
    statuses = [b["data"]["status"] for _, b in deliveries if b["event"] == "meeting.status"]
    assert statuses[0] == "active" and statuses[-1] == "completed"
    final = next(b for _, b in deliveries if b["event"] == "transcript.finalized")
    assert final["meeting"]["native_meeting_id"] == native
    assert "country" in " ".join(s["text"] for s in final["data"]["segments"])
    assert all("words" not in s for s in final["data"]["segments"])  # the payload as before
    async with pipeline.client(key) as c:
        log = (await c.get("/user/webhook/deliveries")).json()["deliveries"]
    assert all(d["ok"] for d in log) and any(d["attempts"] == 2 for d in log)
    assert {d["event"] for d in log} == {"meeting.status", "transcript.finalized"}


class Owed:
    """The deliveries the dispatcher owes, from the two topics it reads (followed by `reader` from
    its start on): each BotStatusChanged's event id, and `<session>-final` / `<session>-settled`
    for a session's live and settled TranscriptCompleted (the dispatcher's delivery ids)."""

    def __init__(self, pipeline: Pipeline, reader: TopicReader) -> None:
        self.bases = {pipeline.topic(LIFECYCLE): LIFECYCLE,
                      pipeline.topic(TRANSCRIPT_CHANGES): TRANSCRIPT_CHANGES}
        self.reader = reader
        self.ids: dict[str, list[str]] = defaultdict(list)
        self.settled: set[str] = set()

    @staticmethod
    def following(pipeline: Pipeline) -> TopicReader:
        return TopicReader(pipeline.infra.bootstrap, [pipeline.topic(LIFECYCLE),
                                                      pipeline.topic(TRANSCRIPT_CHANGES)])

    def _take(self, records: list[ConsumerRecord]) -> None:
        for r in records:
            try:
                event = codec(self.bases[r.topic]).decode(r.value)
            except CodecError:
                continue
            if isinstance(event, BotStatusChanged):
                self.ids[event.meeting_id].append(event.event_id)
            elif isinstance(event, TranscriptCompleted) and event.run_id in (LIVE_RUN, SETTLED_RUN):
                settled = event.run_id == SETTLED_RUN
                self.ids[event.meeting_id].append(f"{event.session_id}-{'settled' if settled else 'final'}")
                if settled:
                    self.settled.add(event.meeting_id)

    async def session(self, meeting_id: str, timeout: float = 60) -> list[str]:
        """A streamed session's delivery ids, once its settled transcript is out."""
        deadline = time.monotonic() + timeout
        while meeting_id not in self.settled:
            assert time.monotonic() < deadline, f"{meeting_id}: no settled completion {self.ids[meeting_id]}"
            self._take(await self.reader.batch(timeout_s=0.5))
        async for batch in self.reader.to_end():  # what the other topic holds by now
            self._take(batch)
        return self.ids[meeting_id]


RETRY_DELAYS = (0.3, 0.6)


@pytest.mark.chaos
async def test_a_target_failing_then_down_then_back_loses_no_delivery(
        pipeline: Pipeline, chaos_report: list[Verdict]) -> None:
    """The tenant's target answers 500, then goes down (connection refused) across one session's
    events, then comes back (a fresh server on its port) before the next session. The dispatcher
    stays up; each delivery of the first session is retried after each of its delays and logged
    as failed; the next session's are delivered, signed."""
    tenant = f"chaos{uuid.uuid4().hex[:6]}"
    key = pipeline.mint_key(tenant)
    failing = Receiver(answer=lambda n: 500)
    port = failing.server_address[1]
    url = f"http://127.0.0.1:{port}/hook"
    attempts = 1 + len(RETRY_DELAYS)
    delays = ",".join(map(str, RETRY_DELAYS))
    # a group of its own starts at the topics' ends: nothing an earlier test left unsent goes first
    async with (hooked(pipeline, key, url, delays, f"{pipeline.prefix}chaos-webhooks") as secret,
                Owed.following(pipeline) as reader, pipeline.client(key) as api):
        owed, webhooks = Owed(pipeline, reader), pipeline.procs["webhooks"]

        def down_now() -> set[str]:
            return {name for name, proc in pipeline.procs.items() if proc.pid() is None}

        async def logged() -> dict[str, dict[str, Any]]:
            r = await api.get("/user/webhook/deliveries", params={"limit": 1000})
            r.raise_for_status()
            return {d["delivery_id"]: d for d in r.json()["deliveries"]}

        async def gave_up_on_a_500() -> bool:
            return any(d["error"] == "HTTP 500" for d in (await logged()).values())

        with serving(failing):  # 500s, until they used up one delivery's retries
            streaming = asyncio.create_task(asyncio.to_thread(
                stream_as, pipeline, tenant, DATA / "jfk.flac", f"zoom/chaos-{uuid.uuid4().hex[:6]}"))
            await eventually(gave_up_on_a_500, timeout=60)
        first = await owed.session(await streaming)  # its later events meet a port that refuses
        await _logged_or_lost(logged, first)
        down = down_now()

        with serving(Receiver(answer=lambda n: 200, port=port)) as back:
            returned = time.monotonic()
            second = await owed.session(await asyncio.to_thread(
                stream_as, pipeline, tenant, DATA / "jfk.flac", f"zoom/chaos-{uuid.uuid4().hex[:6]}"))
            await _logged_or_lost(logged, second)
        log = await logged()
        entries = (await api.get("/user/webhook/deliveries", params={"limit": 1000})).json()["deliveries"]
        down |= down_now()
        logs = webhooks.tail(40)

    recovered = back.times[0] - returned if back.times else None
    verdict = deliveries("webhook target 500, then refused, then back", first + second,
                         [d["delivery_id"] for d in entries], sorted(down), recovered,
                         ["recovered: from the target's return (the next session streamed at once) "
                          "until its first delivery arrived"])
    chaos_report.append(verdict)
    assert verdict.ok, (verdict.line(), logs)

    # the first session's: each failed after all its attempts, with the last one's error
    errors = [log[d]["error"] for d in first]
    assert all(not log[d]["ok"] and log[d]["attempts"] == attempts for d in first), [log[d] for d in first]
    assert all(e == "HTTP 500" or e.startswith("ConnectError") for e in errors), errors
    assert "HTTP 500" in errors and any(e.startswith("ConnectError") for e in errors), errors
    tries: dict[str, list[float]] = defaultdict(list)
    for (headers, _), at in zip(failing.received, failing.times, strict=True):
        tries[headers["x-stenograph-delivery"]].append(at)
    for delivery, error in zip(first, errors, strict=True):  # each retry after its delay
        got = tries.get(delivery, [])  # a refused attempt never got there
        assert len(got) <= attempts and (len(got) == attempts) == (error == "HTTP 500"), (error, got)
        gaps = [later - earlier for earlier, later in itertools.pairwise(got)]
        assert all(g >= d - 0.01 for g, d in zip(gaps, RETRY_DELAYS, strict=False)), (delivery, gaps)
    # the second session's: delivered at once, signed
    assert all(log[d]["ok"] and log[d]["attempts"] == 1 for d in second), [log[d] for d in second]
    assert {h["x-stenograph-delivery"] for h, _ in back.received} == set(second)
    for headers, body in [*failing.received, *back.received]:
        assert verify(secret, int(headers["x-stenograph-timestamp"]), body, headers["x-stenograph-signature"])
    bodies = [json.loads(b) for _, b in back.received]
    events = sorted((b["event"], b["data"]["settled" if b["event"] == "transcript.finalized" else "status"])
                    for b in bodies)
    assert events == [("meeting.status", "active"), ("meeting.status", "completed"),
                      ("transcript.finalized", False), ("transcript.finalized", True)], events


async def _logged_or_lost(logged: Callable[[], Awaitable[dict[str, Any]]], ids: list[str],
                          timeout: float = 30) -> None:
    """Until the log holds every one of `ids`, or `timeout` (what is missing then is lost)."""
    deadline = time.monotonic() + timeout
    while not set(ids) <= (await logged()).keys() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
