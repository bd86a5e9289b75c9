"""Is a process doing its work, judged from its own metrics (`stenograph healthcheck`, `stenograph status`).

A container's health check runs it beside the service: healthy means the service's consumer
holds partitions and knows their lag (it is consuming), not that the process exists.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

LAG = "stenograph_consumer_lag"


def consuming(metrics_text: str) -> str | None:
    """None when the exposition shows a consumer lag for at least one partition, else why not."""
    for family in text_string_to_metric_families(metrics_text):
        if family.name == LAG and family.samples:
            return None
    return f"not consuming yet: no {LAG} series (no partition assigned, or lag not known)"


def check_metrics(url: str, timeout: float = 3.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return consuming(resp.read().decode())
    except (OSError, urllib.error.URLError) as exc:
        return f"metrics at {url} unreachable: {exc}"


def check_tcp(port: int, host: str = "127.0.0.1", timeout: float = 3.0) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"nothing accepts connections on {host}:{port}: {exc}"
