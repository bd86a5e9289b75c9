"""Retrying a call through transient errors, with backoff: the one mechanism the consumer core
and the aggregator's agents share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # the last one repeats


async def retrying(
    call: Callable[[], Awaitable[T]], *, transient: tuple[type[BaseException], ...], what: str,
    delays_s: Sequence[float] = DEFAULT_DELAYS_S, stop: asyncio.Event | None = None,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """`call()` until it returns; a transient error waits and tries again (forever, unless `stop`
    is set: then it is raised), any other error is raised at once."""
    attempt = 0
    while True:
        try:
            return await call()
        except transient as exc:
            if stop is not None and stop.is_set():
                raise
            delay = delays_s[min(attempt, len(delays_s) - 1)]
            attempt += 1
            if on_retry is not None:
                on_retry()
            log.warning("%s: %s: %s; retry %d in %.1f s", what, type(exc).__name__, exc, attempt, delay)
            await asyncio.sleep(delay)
