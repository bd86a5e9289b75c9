"""What the contract keeps sealed, and how: audio payloads and webhook secrets. Pure.

AES-256-GCM throughout. The deployment's master key (`STENOGRAPH_SECRET_KEY`) wraps each
capture session's data key (a DataKeyIssued on the compacted `meetings.keys` topic) and each
webhook secret (on the compacted `tenants` topic); a session's data key seals its frames'
payloads. Kafka cannot delete single records from a log, so erasing a meeting destroys its
data keys instead (crypto-shredding): once the compactor has removed a key's record, the
session's frames are noise to anyone, the master key's holder included.

Every sealed value is `nonce (12 bytes) || ciphertext || tag (16 bytes)`, bound by its
associated data to where it belongs (a frame to its meeting, session and seq; a key to its
session; a secret to its tenant), so no sealed value can be moved to another place and opened.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stenograph.schemas.errors import StenographError
from stenograph.schemas.events import SEAL_OVERHEAD

NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD = SEAL_OVERHEAD  # nonce and tag: a sealed payload is this much longer than the plain one
KEY_BYTES = 32
SECRET_PREFIX = "sealed:v1:"  # a stored webhook secret without it is a plain one from before sealing


class SealError(StenographError):
    """A sealed value that does not open under this key (wrong key, moved, or altered)."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def new_master_key() -> str:
    """A master key as `STENOGRAPH_SECRET_KEY` takes it: 32 random bytes, URL-safe base64."""
    return base64.urlsafe_b64encode(new_key()).decode()


def parse_master_key(text: str) -> bytes:
    """The master key's bytes; ValueError naming what is wrong."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raise ValueError("STENOGRAPH_SECRET_KEY is not URL-safe base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"STENOGRAPH_SECRET_KEY must be {KEY_BYTES} bytes in base64, not {len(key)}")
    return key


def seal(key: bytes, plain: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plain, aad)


def unseal(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < OVERHEAD:
        raise SealError("sealed value shorter than its nonce and tag")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag:
        raise SealError("does not open under this key (wrong key, moved or altered)") from None


def frame_aad(meeting_id: str, session_id: str, seq: int) -> bytes:
    return f"frame:{meeting_id}/{session_id}/{seq}".encode()


def data_key_aad(meeting_id: str, session_id: str) -> bytes:
    return f"data-key:{meeting_id}/{session_id}".encode()


def wrap_data_key(master: bytes, data_key: bytes, meeting_id: str, session_id: str) -> bytes:
    return seal(master, data_key, data_key_aad(meeting_id, session_id))


def unwrap_data_key(master: bytes, wrapped: bytes, meeting_id: str, session_id: str) -> bytes:
    return unseal(master, wrapped, data_key_aad(meeting_id, session_id))


def seal_secret(master: bytes, secret: str, tenant_id: str) -> str:
    """A webhook secret as the tenants topic and the read model keep it."""
    if not secret:
        return secret  # "" removes the webhook: nothing to hide
    sealed = seal(master, secret.encode(), f"webhook-secret:{tenant_id}".encode())
    return SECRET_PREFIX + base64.urlsafe_b64encode(sealed).decode()


def open_secret(master: bytes, stored: str, tenant_id: str) -> str:
    """The plain secret of a stored one (one stored before sealing passes as it is)."""
    if not stored.startswith(SECRET_PREFIX):
        return stored
    try:
        sealed = base64.urlsafe_b64decode(stored[len(SECRET_PREFIX):].encode())
    except (binascii.Error, ValueError):
        raise SealError("sealed secret is not base64") from None
    return unseal(master, sealed, f"webhook-secret:{tenant_id}".encode()).decode()
