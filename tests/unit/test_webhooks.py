"""Webhook signatures, target checks and the deliveries' scheduling, pure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import TopicPartition

from stenograph.commands.webhook_targets import TargetError, check_url
from stenograph.runtime import Record
from stenograph.schemas.webhook_signing import headers, new_secret, sign, verify
from stenograph.webhooks.dispatcher import _Deliveries


def test_signatures_cover_timestamp_and_body() -> None:
    secret = new_secret()
    sig = sign(secret, 1700000000, b'{"a":1}')
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify(secret, 1700000000, b'{"a":1}', sig)
    assert not verify(secret, 1700000001, b'{"a":1}', sig)
    assert not verify(secret, 1700000000, b'{"a":2}', sig)
    assert not verify(new_secret(), 1700000000, b'{"a":1}', sig)
    h = headers(secret, 1, b"{}", "meeting.status", "d1")
    assert h["X-Stenograph-Event"] == "meeting.status" and h["X-Stenograph-Delivery"] == "d1"


def public(host: str) -> list[str]:
    return {"hooks.example.com": ["93.184.216.34"], "sneaky.example.com": ["93.184.216.34", "10.0.0.5"],
            "v6.example.com": ["2606:2800:220:1::1"]}.get(host, ["127.0.0.1"])


@pytest.mark.parametrize("url", ["https://hooks.example.com/x", "http://v6.example.com:8080/h?q=1"])
def test_public_targets_pass(url: str) -> None:
    assert check_url(url, resolver=public) == url


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://hooks.example.com/", "http"),
    ("https://user:pw@hooks.example.com/", "credentials"),
    ("http://localhost/", "loopback"),
    ("http://sneaky.example.com/", "10.0.0.5"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[::1]/", "loopback"),
    ("http://0.0.0.0/", "private"),
])
def test_internal_and_odd_targets_are_refused(url: str, why: str) -> None:
    def resolver(host: str) -> list[str]:
        return [host] if host[0].isdigit() or ":" in host else public(host)

    with pytest.raises(TargetError, match=why):
        check_url(url, resolver=resolver)


def test_private_targets_pass_when_allowed() -> None:
    assert check_url("http://127.0.0.1:9/h", allow_private=True) == "http://127.0.0.1:9/h"


@dataclass(frozen=True)
class Hook:
    tenant_id: str
    name: str


async def test_a_dead_target_holds_up_only_its_own_tenant_and_the_commit_waits_for_it() -> None:
    """One tenant's dead target must not stop another's deliveries; a tenant's own deliveries
    keep their order; the partition is committed only up to the oldest delivery still running,
    so a restart re-sends it."""
    release, delivered = asyncio.Event(), []

    class Targets:
        def delivery(self, record: Record) -> Callable[[], Coroutine[Any, Any, None]]:
            async def send() -> None:
                if record.event.name == "a: active":
                    await release.wait()  # tenant a's target is down, retrying
                delivered.append(record.event.name)
            return send

    tp = TopicPartition("t", 0)
    step = _Deliveries(Targets())
    hooks = [Hook("a", "a: active"), Hook("b", "b: active"), Hook("a", "a: completed"),
             Hook("b", "b: completed")]
    for offset, hook in enumerate(hooks):
        await step.submit(Record("b", "t", 0, offset, None, hook, None))
    await asyncio.sleep(0.01)
    assert delivered == ["b: active", "b: completed"]
    assert step.commit_point(tp, 4) == (0, "")  # not past the delivery still retrying
    release.set()
    await asyncio.sleep(0.01)
    assert delivered[2:] == ["a: active", "a: completed"] and step.commit_point(tp, 4) == (4, "")
    assert await step.poll() is False and step.last == {}


async def test_a_delivery_that_fails_ends_the_run_and_one_still_running_is_cancelled_on_close() -> None:
    class Broken:
        def delivery(self, record: Record) -> Callable[[], Coroutine[Any, Any, None]]:
            async def send() -> None:
                if record.offset == 0:
                    raise ConnectionError("read model away")
                await asyncio.sleep(3600)
            return send

    step = _Deliveries(Broken())
    await step.submit(Record("b", "t", 0, 0, None, Hook("a", "x"), None))
    await step.submit(Record("b", "t", 0, 1, None, Hook("b", "y"), None))
    await step.submit(Record("b", "t", 0, 2, None, Hook("b", "z"), None))  # waits for y: never starts
    await asyncio.sleep(0.01)
    with pytest.raises(ConnectionError):
        await step.poll()
    # no commit passes the failed delivery: not a revoke's, not a clean stop's
    assert step.commit_point(TopicPartition("t", 0), 3) == (0, "")
    await step.close()
    assert step.running == {}
