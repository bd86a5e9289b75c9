"""Short-lived tickets for the one client that can neither set a header nor a subprotocol: a
browser's EventSource (/sse). A ticket names its tenant and expiry and is signed with the
deployment's master key, so any API replica checks it without shared state; one that lands in a
log or a proxy's access log is worthless a minute later. Pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

PREFIX = "tkt_"
TICKET_TTL_S = 60


def _signature(master: bytes, body: str) -> str:
    key = hmac.new(master, b"stenograph live tickets", hashlib.sha256).digest()  # not the AES key itself
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def issue(master: bytes, tenant: str, now_s: float, ttl_s: int = TICKET_TTL_S) -> str:
    body = base64.urlsafe_b64encode(f"{tenant}.{int(now_s) + ttl_s}".encode()).decode().rstrip("=")
    return f"{PREFIX}{body}.{_signature(master, body)}"


def tenant_of(master: bytes, ticket: str, now_s: float) -> str | None:
    """The ticket's tenant while it is valid; None for one expired, altered or not a ticket."""
    if not ticket.startswith(PREFIX):
        return None
    body, _, signature = ticket[len(PREFIX):].rpartition(".")
    try:
        if not body or not hmac.compare_digest(signature.encode(), _signature(master, body).encode()):
            return None
        tenant, _, expires = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().rpartition(".")
        return tenant if tenant and now_s <= int(expires) else None
    except (binascii.Error, UnicodeError, ValueError):  # not ASCII, not base64, not a time
        return None
