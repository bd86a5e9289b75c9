"""Shared settings: replication of the registry's topics, and a bad setting as one line at the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from stenograph.runtime import CommonSettings


def test_replication_defaults_to_one_broker() -> None:
    s = CommonSettings()
    assert s.kafka_replication_factor == 1 and s.kafka_min_insync_replicas is None


def test_a_cluster_replication_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STENOGRAPH_KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("STENOGRAPH_KAFKA_MIN_INSYNC_REPLICAS", "2")
    s = CommonSettings()
    assert (s.kafka_replication_factor, s.kafka_min_insync_replicas) == (3, 2)


@pytest.mark.parametrize(("rf", "isr"), [("0", None), ("1", "2"), ("3", "0")])
def test_impossible_replication_is_refused(monkeypatch: pytest.MonkeyPatch, rf: str, isr: str | None) -> None:
    monkeypatch.setenv("STENOGRAPH_KAFKA_REPLICATION_FACTOR", rf)
    if isr is not None:
        monkeypatch.setenv("STENOGRAPH_KAFKA_MIN_INSYNC_REPLICAS", isr)
    with pytest.raises(ValidationError):
        CommonSettings()


def test_the_cli_names_a_bad_setting_in_one_line_and_exits_2() -> None:
    env = {"STENOGRAPH_KAFKA_REPLICATION_FACTOR": "1", "STENOGRAPH_KAFKA_MIN_INSYNC_REPLICAS": "2",
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "stenograph", "topics"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad setting"), proc.stderr
    assert "STENOGRAPH_KAFKA_MIN_INSYNC_REPLICAS=2" in lines[0]
