"""Sealing (schemas/sealing.py): frames, data keys and webhook secrets open only where they belong."""

from __future__ import annotations

import pytest

from stenograph.schemas import (
    SealError,
    frame_aad,
    new_key,
    new_master_key,
    open_secret,
    parse_master_key,
    seal,
    seal_secret,
    unseal,
    unwrap_data_key,
    wrap_data_key,
)
from stenograph.schemas.events import SEAL_OVERHEAD
from stenograph.schemas.sealing import OVERHEAD


def test_a_frame_opens_under_its_key_and_place_only() -> None:
    key, pcm = new_key(), bytes(range(256)) * 12
    sealed = seal(key, pcm, frame_aad("m", "s", 7))
    assert len(sealed) == len(pcm) + OVERHEAD == len(pcm) + SEAL_OVERHEAD
    assert pcm not in sealed
    assert unseal(key, sealed, frame_aad("m", "s", 7)) == pcm
    for wrong_key, aad in ((new_key(), frame_aad("m", "s", 7)), (key, frame_aad("m", "s", 8)),
                           (key, frame_aad("other", "s", 7))):
        with pytest.raises(SealError):
            unseal(wrong_key, sealed, aad)
    with pytest.raises(SealError):
        unseal(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), frame_aad("m", "s", 7))
    with pytest.raises(SealError):
        unseal(key, b"short", frame_aad("m", "s", 7))


def test_a_data_key_unwraps_under_the_master_key_for_its_session_only() -> None:
    master, data = parse_master_key(new_master_key()), new_key()
    wrapped = wrap_data_key(master, data, "m", "s")
    assert data not in wrapped
    assert unwrap_data_key(master, wrapped, "m", "s") == data
    with pytest.raises(SealError):
        unwrap_data_key(master, wrapped, "m", "s2")
    with pytest.raises(SealError):
        unwrap_data_key(parse_master_key(new_master_key()), wrapped, "m", "s")


def test_a_webhook_secret_is_kept_sealed_for_its_tenant() -> None:
    master = parse_master_key(new_master_key())
    stored = seal_secret(master, "whsec_abc", "acme")
    assert "whsec_abc" not in stored and stored.startswith("sealed:v1:")
    assert open_secret(master, stored, "acme") == "whsec_abc"
    assert open_secret(master, "whsec_plain_from_before", "acme") == "whsec_plain_from_before"
    assert seal_secret(master, "", "acme") == ""  # "" removes the webhook
    with pytest.raises(SealError):
        open_secret(master, stored, "other-tenant")


@pytest.mark.parametrize(("text", "why"), [("not base64!", "base64"), ("c2hvcnQ=", "32 bytes")])
def test_a_bad_master_key_is_refused_with_its_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_master_key(text)
