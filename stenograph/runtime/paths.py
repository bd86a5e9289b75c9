"""Where Stenograph keeps downloads and local-stack state on this machine (XDG layout)."""

from __future__ import annotations

import os
from pathlib import Path


def _xdg(explicit_var: str, xdg_var: str, fallback: Path) -> Path:
    if explicit := os.environ.get(explicit_var):
        return Path(explicit).resolve()
    xdg = os.environ.get(xdg_var)
    return (Path(xdg) if xdg else fallback) / "stenograph"


def cache_dir() -> Path:
    """Downloads that can be fetched again: Kafka jars, joined models."""
    return _xdg("STENOGRAPH_CACHE_DIR", "XDG_CACHE_HOME", Path.home() / ".cache")


def state_dir() -> Path:
    """The local stack: data, logs, pid files."""
    return _xdg("STENOGRAPH_STATE_DIR", "XDG_STATE_HOME", Path.home() / ".local" / "state")
