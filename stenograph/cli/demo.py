"""The demo: stream a recording through the running local stack, then read it back via the API."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from stenograph.capture import stream_file
from stenograph.cli.devkey import ensure_dev_key
from stenograph.compose import StackConfig
from stenograph.schemas import MeetingRef


async def wait_for_transcript(
    client: httpx.AsyncClient, ref: MeetingRef, meeting_id: str, *, timeout: float,
    settle_s: float = 3.0,
) -> dict[str, Any]:
    """Poll until the stream has ended and the transcript has not changed for `settle_s`."""
    deadline = time.monotonic() + timeout
    last: tuple[Any, ...] | None = None
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        r = await client.get(f"/transcripts/{ref.platform}/{ref.native_meeting_id}")
        if r.status_code == 200:
            body = r.json()
            if body["id"] == meeting_id:
                shape = (body["status"], tuple(s["text"] for s in body["segments"]))
                if shape != last:
                    last, stable_since = shape, time.monotonic()
                elif (body["status"] == "completed" and body["segments"]
                      and time.monotonic() - stable_since >= settle_s):
                    return dict(body)
        await asyncio.sleep(0.25)
    raise TimeoutError(f"no settled transcript for {ref} after {timeout:.0f} s")


async def run_demo(path: Path, ref: MeetingRef, cfg: StackConfig, *, timeout: float) -> str:
    settings = cfg.settings()
    key = await ensure_dev_key(settings, cfg.state_dir)
    outcome = await stream_file(path, ref, settings)
    async with httpx.AsyncClient(base_url=cfg.api_url, timeout=10, headers={"X-API-Key": key}) as client:
        body = await wait_for_transcript(client, ref, outcome.meeting_id, timeout=timeout)
    lines = [f"Transcript of {ref} (meeting {body['id']}, status {body['status']}):"]
    for s in body["segments"]:
        lines.append(f"  [{s['start']:6.2f} - {s['end']:6.2f}] {s['text']}")
    return "\n".join(lines)
