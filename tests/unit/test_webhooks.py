"""Webhook signatures and target checks, pure."""

from __future__ import annotations

import pytest

from stenograph.commands.webhook_targets import TargetError, check_url
from stenograph.schemas.webhook_signing import headers, new_secret, sign, verify


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
