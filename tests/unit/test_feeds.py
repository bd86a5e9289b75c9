"""Waiting on a background feed: its failure ends the wait instead of hanging it."""

from __future__ import annotations

import asyncio

import pytest

from stenograph.runtime.feeds import wait_unless_failed


async def test_a_feed_that_fails_before_ready_raises_its_error() -> None:
    async def broken() -> None:
        raise ConnectionError("broker gone")

    task = asyncio.create_task(broken())
    with pytest.raises(ConnectionError, match="broker gone"):
        await wait_unless_failed([task], asyncio.Event().wait())


async def test_ready_returns_while_the_feed_keeps_running() -> None:
    ready = asyncio.Event()

    async def feed() -> None:
        ready.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(feed())
    await asyncio.wait_for(wait_unless_failed([task], ready.wait()), 5)
    assert not task.done()
    task.cancel()
