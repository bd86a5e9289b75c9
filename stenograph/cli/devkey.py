"""The local stack's development key: one API key of the configured tenant, kept in the state dir."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from redis.asyncio import Redis

from stenograph.commands import create_key
from stenograph.readmodel import ReadStore
from stenograph.runtime import CommonSettings

FILE = "dev-api-key"


async def _usable(redis: Redis, settings: CommonSettings, key: str) -> bool:
    return await ReadStore(redis, settings.redis_keys).tenant_for_key(key) is not None


async def ensure_dev_key(settings: CommonSettings, state_dir: Path, timeout: float = 60) -> str:
    """The saved key when the stack still knows it; else a new one, saved (0600) once usable."""
    path = state_dir / FILE
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        if path.is_file() and await _usable(redis, settings, key := path.read_text().strip()):
            return key
        key = (await create_key(settings, settings.tenant, "local development")).key
        deadline = time.monotonic() + timeout
        while not await _usable(redis, settings, key):  # the aggregator materializes it
            if time.monotonic() > deadline:
                raise TimeoutError(f"the new key was not materialized in {timeout:.0f} s")
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key
