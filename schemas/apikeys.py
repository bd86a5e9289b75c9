"""API keys: minted at random, stored only as SHA-256 hashes, checked in constant time. No I/O.

A key reads `stg_<key_id>_<secret>`: the prefix makes leaked keys recognizable to secret
scanners, the key id names the key for revocation and lookup, and the secret carries 192
random bits. Only `ApiKeyIssued{key_id, key_hash}` is ever stored or published.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from stenograph.schemas.events import ApiKeyIssued, ApiKeyRevoked

PREFIX = "stg_"
KEY = re.compile(r"^stg_([0-9a-f]{12})_([A-Za-z0-9_-]{32})$")
TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_tenant(tenant: str) -> str:
    if not TENANT.fullmatch(tenant):
        raise ValueError(f"{tenant!r}: tenant must be 1-63 of a-z 0-9 _ - (starting a-z 0-9)")
    return tenant


@dataclass(frozen=True)
class MintedKey:
    key: str  # shown once, never stored
    event: ApiKeyIssued


def mint(tenant: str, label: str = "") -> MintedKey:
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
    event = ApiKeyIssued(tenant_id=check_tenant(tenant), key_id=key_id, key_hash=hash_key(key),
                         label=label)
    return MintedKey(key, event)


def check_key_id(key_id: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{12}", key_id):
        raise ValueError(f"{key_id!r}: a key id is the 12 hex digits after {PREFIX} in the key")
    return key_id


def key_id_of(key: str) -> str | None:
    match = KEY.fullmatch(key)
    return match.group(1) if match else None


@dataclass(frozen=True)
class StoredKey:
    tenant_id: str
    key_hash: str
    label: str


def verify(key: str, key_hash: str) -> bool:
    """Constant-time: does `key` hash to `key_hash`?"""
    return hmac.compare_digest(key_hash, hash_key(key))


class KeyTable:
    """key id -> live key, folded from the tenants topic (issue and revoke by key id)."""

    def __init__(self) -> None:
        self.keys: dict[str, StoredKey] = {}

    def apply(self, event: object) -> None:
        if isinstance(event, ApiKeyIssued):
            self.keys[event.key_id] = StoredKey(event.tenant_id, event.key_hash, event.label)
        elif isinstance(event, ApiKeyRevoked):
            self.keys.pop(event.key_id, None)

    def tenant_of(self, key: str) -> str | None:
        """The key's tenant, or None for a malformed, unknown or revoked key."""
        key_id = key_id_of(key)
        stored = self.keys.get(key_id) if key_id else None
        if stored is None:
            return None
        return stored.tenant_id if verify(key, stored.key_hash) else None
