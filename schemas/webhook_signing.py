"""HMAC-SHA256 signatures of webhook deliveries. Pure.

The signed message is `<timestamp>.<body>`, so a captured delivery cannot be replayed later
with a fresh timestamp. Receivers recompute it with their secret and compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE = "X-Stenograph-Signature"
TIMESTAMP = "X-Stenograph-Timestamp"
EVENT = "X-Stenograph-Event"
DELIVERY = "X-Stenograph-Delivery"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def headers(secret: str, timestamp: int, body: bytes, event: str, delivery_id: str) -> dict[str, str]:
    return {"Content-Type": "application/json", SIGNATURE: sign(secret, timestamp, body),
            TIMESTAMP: str(timestamp), EVENT: event, DELIVERY: delivery_id}
