"""The local WebSocket the meeting page sends its audio and observations to.

Binary messages: an 8-byte little-endian float64 (UTC milliseconds of the first sample) and
PCM16 mono at 16 kHz. Text messages: JSON observations (participant, speaker, track). Only the
page that knows the secret path is heard.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import struct
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

log = logging.getLogger(__name__)

HEADER = struct.Struct("<d")


@dataclass(frozen=True)
class Chunk:
    at_ms: float  # UTC, of the first sample
    pcm: bytes


def parse_chunk(message: bytes) -> Chunk:
    if len(message) < HEADER.size or (len(message) - HEADER.size) % 2:
        raise ValueError(f"audio message of {len(message)} bytes")
    (at_ms,) = HEADER.unpack_from(message)
    return Chunk(at_ms, message[HEADER.size:])


class Bridge:
    def __init__(self, max_chunks: int = 2000) -> None:
        self.token = secrets.token_urlsafe(18)
        # bounded: if publishing stalls, the page's socket buffers instead of our memory
        self.audio: asyncio.Queue[Chunk | None] = asyncio.Queue(max_chunks)  # None: no more
        self.events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._server: Server | None = None

    async def start(self) -> str:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=2**20)
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/{self.token}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        if ws.request is None or ws.request.path != f"/{self.token}":
            log.warning("refused a page connection on an unknown path")
            await ws.close(1008, "unknown path")
            return
        try:
            await self._receive(ws)
        except ConnectionClosed as exc:  # the browser went away mid-message (a crash)
            log.info("page connection lost: %s", exc)

    async def _receive(self, ws: ServerConnection) -> None:
        async for message in ws:
            if isinstance(message, bytes):
                try:
                    await self.audio.put(parse_chunk(message))
                except ValueError as exc:
                    log.warning("dropped a malformed audio message: %s", exc)
                continue
            try:
                event = json.loads(message)
            except json.JSONDecodeError:
                log.warning("dropped a malformed page message")
                continue
            if isinstance(event, dict):
                await self.events.put(event)
