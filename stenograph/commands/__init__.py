"""What the API and the CLI both ask for: tenants and keys, replays, webhook targets."""

from __future__ import annotations

from stenograph.commands.replays import (
    TASKS,
    ReplayRefused,
    ReplayTicket,
    request_replay,
    validate_options,
)
from stenograph.commands.tenants import create_key, revoke_key, send, whole_tenant
from stenograph.commands.webhook_targets import TargetError, check_url

__all__ = [
    "TASKS",
    "ReplayRefused",
    "ReplayTicket",
    "TargetError",
    "check_url",
    "create_key",
    "request_replay",
    "revoke_key",
    "send",
    "validate_options",
    "whole_tenant",
]
