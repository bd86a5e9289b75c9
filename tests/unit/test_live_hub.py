"""api/live.py's fan-out without Kafka: bounded queues, a slow subscriber dropped and told."""

from __future__ import annotations

import asyncio

from stenograph.api.live import OVERFLOW, LiveHub
from stenograph.schemas import TopicNames


def test_a_subscriber_that_falls_behind_is_dropped_and_the_others_go_on() -> None:
    hub = LiveHub("127.0.0.1:1", TopicNames("t."), queue_max=3)
    slow = hub.subscribe("acme", "m1")
    quick = hub.subscribe("acme", "m1")
    other_tenant = hub.subscribe("beta", "m1")
    for n in range(3):
        hub.deliver("m1", "acme", ("status", f"s{n}"))
        quick.get_nowait()  # this one keeps up
    hub.deliver("m1", "acme", ("status", "s3"))
    assert slow.qsize() == 4 and list(slow._queue)[-1] is OVERFLOW  # type: ignore[attr-defined]
    assert hub.dropped == 1
    hub.deliver("m1", "acme", ("status", "s4"))  # the dropped one gets nothing more
    assert slow.qsize() == 4
    assert [quick.get_nowait() for _ in range(2)] == [("status", "s3"), ("status", "s4")]
    assert other_tenant.empty()  # another tenant's subscriber of the same id is never sent it


def test_queues_are_bounded() -> None:
    hub = LiveHub("127.0.0.1:1", TopicNames("t."), queue_max=3)
    queue: asyncio.Queue[object] = hub.subscribe("acme", "m1")  # type: ignore[assignment]
    for n in range(100):
        hub.deliver("m1", "acme", ("status", str(n)))
    assert queue.qsize() == 4  # three updates and the marker, never more
