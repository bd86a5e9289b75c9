"""`stenograph healthcheck`: healthy means the consumer reports a lag, judged from metrics text."""

from __future__ import annotations

import socket

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from stenograph.runtime import health


def exposition(lag: dict[str, int] | None) -> str:
    registry = CollectorRegistry()
    gauge = Gauge("stenograph_consumer_lag", "lag", ["stage", "topic", "partition"], registry=registry)
    for partition, value in (lag or {}).items():
        gauge.labels("transcriber", "meetings.audio", partition).set(value)
    Gauge("stenograph_model_busy_ratio", "busy", registry=registry).set(0.5)
    return generate_latest(registry).decode()


def test_a_consumer_with_partitions_is_healthy_whatever_its_lag() -> None:
    assert health.consuming(exposition({"0": 0})) is None
    assert health.consuming(exposition({"0": 1200, "3": 5})) is None


def test_no_lag_series_is_not_consuming() -> None:
    reason = health.consuming(exposition(None))
    assert reason is not None and "stenograph_consumer_lag" in reason
    assert health.consuming("") is not None


def test_unreachable_metrics_and_closed_ports_are_reasons() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        assert "unreachable" in (health.check_metrics(f"http://127.0.0.1:{port}/metrics", 1.0) or "")
        assert health.check_tcp(port, timeout=1.0) is not None
        s.listen()
        assert health.check_tcp(port, timeout=1.0) is None
