"""How the bot manager starts bots. The local launcher runs each bot as a child process;
a deployment can start containers instead by implementing the same two small protocols."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any, Protocol

from stenograph.schemas import JoinRequested

log = logging.getLogger(__name__)


class BotHandle(Protocol):
    """A running bot: lines it reports, lines it is sent, and its end."""

    def reports(self) -> AsyncIterator[dict[str, Any]]: ...
    async def send(self, message: dict[str, Any]) -> None: ...
    async def wait(self) -> int: ...
    async def kill(self) -> None: ...


class Launcher(Protocol):
    async def launch(self, request: JoinRequested) -> BotHandle: ...


class ProcessBot:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def reports(self) -> AsyncIterator[dict[str, Any]]:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            with contextlib.suppress(json.JSONDecodeError):
                message = json.loads(line)
                if isinstance(message, dict):
                    yield message

    async def send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        if stdin is None or stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError):
            stdin.write((json.dumps(message) + "\n").encode())
            await stdin.drain()

    async def wait(self) -> int:
        return await self.process.wait()

    async def kill(self) -> None:
        """The bot and its browser: they share the bot's process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()


class ProcessLauncher:
    """`python -m stenograph bot --managed --request JSON` per meeting, in its own process group."""

    async def launch(self, request: JoinRequested) -> ProcessBot:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "stenograph", "bot", "--managed",
            "--request", json.dumps(dataclasses.asdict(request)),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        log.info("bot for %s started (pid %d)", request.meeting_id, process.pid)
        return ProcessBot(process)
