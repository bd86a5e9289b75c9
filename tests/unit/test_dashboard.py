"""The Grafana dashboard (compose/grafana/stenograph.json) is built from the metrics' real names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from stenograph.runtime import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "compose" / "grafana" / "stenograph.json"
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def defined() -> set[str]:
    """The exposed names of every metric the runtime declares."""
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                names.add(family.name)
    assert names, "no metrics found"
    return names


def base_name(series: str) -> str:
    for suffix in SUFFIXES:
        if series.endswith(suffix):
            return series[: -len(suffix)]
    return series


def test_every_query_names_a_declared_metric_and_every_metric_has_a_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {base_name(m) for e in exprs for m in re.findall(r"stenograph_[a-z_]+", e)}
    names = defined()
    assert used <= names, sorted(used - names)
    assert names <= used, f"metrics with no panel: {sorted(names - used)}"
