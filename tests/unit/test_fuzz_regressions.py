"""Every input `make fuzz` ever found breaking a parser, replayed for good, and the fuzzers' seeds:
each parser returns or refuses with its own error (tests/fuzz/targets.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.targets import REGRESSIONS, TARGETS

KEPT = sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file() and p.name != ".gitkeep")


@pytest.mark.parametrize("path", KEPT, ids=lambda p: f"{p.parent.name}/{p.name[:18]}")
def test_a_kept_input_is_refused_cleanly(path: Path) -> None:
    TARGETS[path.parent.name].check(path.read_bytes())


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_the_seeds_pass(name: str) -> None:
    seeds = TARGETS[name].seeds()
    assert seeds
    for seed in seeds:
        TARGETS[name].check(seed)


def test_every_kept_input_belongs_to_a_target() -> None:
    assert {p.parent.name for p in KEPT} <= set(TARGETS)
    assert len(KEPT) >= 5  # the first run's finds: a wrong path must not pass by finding none
