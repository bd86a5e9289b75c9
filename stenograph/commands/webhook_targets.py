"""Which webhook URLs may be called: http(s) to public addresses only, unless allowed. Pure
apart from the resolver passed in."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

Resolver = Callable[[str], list[str]]


class TargetError(ValueError):
    """A webhook URL that will not be called, and why."""


def resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except socket.gaierror as exc:
        raise TargetError(f"{host}: does not resolve ({exc.strerror})") from None


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver = resolve) -> str:
    """The URL if it may be called; TargetError otherwise. Every address of the host counts,
    so a name that also resolves to an internal address is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError("webhook URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise TargetError("webhook URL must not carry credentials")
    if len(url) > 2048:
        raise TargetError("webhook URL longer than 2048 characters")
    if allow_private:
        return url
    for address in resolver(parts.hostname):
        ip = ipaddress.ip_address(address.split("%")[0])
        if (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified):
            raise TargetError(f"{parts.hostname} resolves to {ip}, a private, loopback or "
                              "link-local address (allow with STENOGRAPH_WEBHOOK_ALLOW_PRIVATE)")
    return url
