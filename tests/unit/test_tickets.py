"""Live tickets (api/tickets.py): a tenant's for a minute, and nothing else passes."""

from __future__ import annotations

import pytest

from stenograph.api.tickets import issue, tenant_of
from stenograph.schemas import new_master_key, parse_master_key

MASTER = parse_master_key(new_master_key())


def test_a_ticket_names_its_tenant_until_it_expires() -> None:
    ticket = issue(MASTER, "acme", now_s=1000.0)
    assert tenant_of(MASTER, ticket, 1000.0) == "acme"
    assert tenant_of(MASTER, ticket, 1060.0) == "acme"
    assert tenant_of(MASTER, ticket, 1061.0) is None
    assert tenant_of(parse_master_key(new_master_key()), ticket, 1000.0) is None  # another deployment's


@pytest.mark.parametrize("forged", [
    "", "tkt_", "tkt_.", "stg_abc", "tkt_YWNtZS45OTk5OTk5OTk5.00", "tkt_abc.é", "tkt_é.é", "tkt_!!!.ff",
])
def test_anything_else_is_no_ticket(forged: str) -> None:
    assert tenant_of(MASTER, forged, 1000.0) is None


def test_a_changed_tenant_or_expiry_breaks_the_signature() -> None:
    import base64

    ticket = issue(MASTER, "acme", now_s=1000.0)
    _, signature = ticket[4:].rsplit(".", 1)
    other = base64.urlsafe_b64encode(b"evil.1060").decode().rstrip("=")
    later = base64.urlsafe_b64encode(b"acme.99999999999").decode().rstrip("=")
    for body in (other, later):
        assert tenant_of(MASTER, f"tkt_{body}.{signature}", 1000.0) is None
