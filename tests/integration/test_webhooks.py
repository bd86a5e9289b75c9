"""Webhooks on the real stack: signed deliveries of status changes and the final transcript,
retried after a failure, logged per tenant; internal URLs refused."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from stenograph.schemas.webhook_signing import verify
from tests.support import DATA, Pipeline, free_port

pytestmark = pytest.mark.integration


class Receiver(ThreadingHTTPServer):
    """Records every delivery; answers 500 to the first one, 200 afterwards."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(500 if len(receiver.received) == 1 else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()


async def test_signed_deliveries_with_retry_and_a_log(pipeline: Pipeline, receiver: Receiver) -> None:
    tenant = f"hooks{uuid.uuid4().hex[:6]}"
    key = pipeline.mint_key(tenant)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    async with pipeline.client(key) as c:  # this API refuses internal targets
        refused = await c.put("/user/webhook", json={"webhook_url": url})
        assert refused.status_code == 422 and "loopback" in refused.text
        assert (await c.put("/user/webhook", json={"webhook_url": "ftp://x"})).status_code == 422
    dev_port = free_port()
    pipeline.start("api-dev", command="api", env={"STENOGRAPH_API_PORT": str(dev_port),
                                                  "STENOGRAPH_WEBHOOK_ALLOW_PRIVATE": "1"})
    pipeline.start("webhooks", env={"STENOGRAPH_WEBHOOK_ALLOW_PRIVATE": "1",
                                    "STENOGRAPH_WEBHOOK_RETRY_DELAYS_S": "0.3,0.6"})
    try:
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
        native = f"hook-{uuid.uuid4().hex[:6]}"
        proc = subprocess.run(
            [sys.executable, "-m", "stenograph", "stream", str(DATA / "jfk.flac"),
             "--meeting", f"zoom/{native}"],
            env={**os.environ, **pipeline.env(), "STENOGRAPH_TENANT": tenant}, capture_output=True, text=True,
            timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        deadline = time.monotonic() + 90
        while not any(h.get("x-stenograph-event") == "transcript.finalized" for h, _ in receiver.received):
            assert time.monotonic() < deadline, [h.get("x-stenograph-event") for h, _ in receiver.received]
            await asyncio.sleep(0.2)
    finally:
        for name in ("webhooks", "api-dev"):
            pipeline.procs.pop(name).stop()

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
    async with pipeline.client(key) as c:
        log = (await c.get("/user/webhook/deliveries")).json()["deliveries"]
    assert all(d["ok"] for d in log) and any(d["attempts"] == 2 for d in log)
    assert {d["event"] for d in log} == {"meeting.status", "transcript.finalized"}
