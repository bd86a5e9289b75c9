"""API keys: random, recognizable, stored as hashes, checked against the folded table."""

from __future__ import annotations

import pytest

from stenograph.capture.audio import Reframer, SessionInfo
from stenograph.schemas.apikeys import KeyTable, check_key_id, hash_key, key_id_of, mint
from stenograph.schemas.events import ApiKeyRevoked


def test_a_minted_key_is_recognizable_random_and_stored_only_as_its_hash() -> None:
    a, b = mint("acme", "bots"), mint("acme")
    assert a.key.startswith("stg_") and a.key != b.key
    assert len(a.key) == len("stg_") + 12 + 1 + 32  # the secret: 24 random bytes, 192 bits
    assert a.event.key_hash == hash_key(a.key) and a.key not in repr(a.event)
    assert key_id_of(a.key) == a.event.key_id


def test_the_table_resolves_live_keys_only() -> None:
    table = KeyTable()
    minted = mint("acme")
    table.apply(minted.event)
    assert table.tenant_of(minted.key) == "acme"
    assert table.tenant_of(minted.key[:-1] + ("A" if minted.key[-1] != "A" else "B")) is None
    assert table.tenant_of("stg_nothex_x") is None and table.tenant_of("") is None
    table.apply(ApiKeyRevoked(tenant_id="acme", key_id=minted.event.key_id))
    assert table.tenant_of(minted.key) is None


@pytest.mark.parametrize("bad", ["", "Acme", "-x", "a" * 64, "a b"])
def test_tenant_names_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="tenant"):
        mint(bad)


def test_key_ids_are_checked() -> None:
    with pytest.raises(ValueError, match="12 hex digits"):
        check_key_id("stg_abc")


def test_reframer_cuts_fixed_frames_and_pads_the_last() -> None:
    session = SessionInfo(tenant_id="t", meeting_id="m", session_id="s", started_at_ns=0)
    framer = Reframer(session, frame_ms=10)  # 320 bytes per frame
    assert framer.push(bytes(300)) == []
    frames = framer.push(bytes(400))
    assert [f.seq for f in frames] == [0, 1] and framer.buffered_bytes == 60
    last = framer.finish()
    assert (last.seq, last.last, len(last.payload)) == (2, True, 320)
    assert frames[1].capture_time_ns == 10_000_000


def test_a_tenant_upsert_carries_the_whole_tenant() -> None:
    """The tenants topic is compacted by tenant: its last record must hold every field."""
    from stenograph.commands import whole_tenant

    stored = {"name": "Acme", "email": "ops@acme.example", "max_concurrent_bots": "2",
              "updated_ns": "1"}
    hook = whole_tenant("acme", stored, webhook_url="https://hooks.example/x", webhook_secret="s")
    assert (hook.name, hook.email, hook.max_concurrent_bots, hook.webhook_url, hook.webhook_secret) == (
        "Acme", "ops@acme.example", 2, "https://hooks.example/x", "s")
    later = whole_tenant("acme", {**stored, "webhook_url": "https://hooks.example/x",
                                  "webhook_secret": "s"}, max_concurrent_bots=7)
    assert (later.name, later.max_concurrent_bots, later.webhook_url) == ("Acme", 7, "https://hooks.example/x")
    removed = whole_tenant("acme", stored, webhook_url="", webhook_secret="")
    assert removed.webhook_url == "" and removed.name == "Acme"
