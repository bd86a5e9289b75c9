"""transcribe/load.py: the model's recent busy share."""

from __future__ import annotations

import pytest

from stenograph.transcribe.load import BusyMeter


def test_idle_model_is_not_busy() -> None:
    assert BusyMeter().busy(100.0) == 0.0


def test_calls_in_the_window_count_and_old_ones_drop_out() -> None:
    meter = BusyMeter(window_s=10.0)
    meter.record(90.0, 92.0)
    meter.record(95.0, 96.5)
    assert meter.busy(100.0) == pytest.approx(0.35)
    assert meter.busy(101.0) == pytest.approx(0.25)  # the first call is half outside the window
    assert meter.busy(106.5) == 0.0
    assert not meter.calls  # forgotten once wholly outside


def test_busy_is_capped_at_one() -> None:
    meter = BusyMeter(window_s=2.0)
    meter.record(0.0, 5.0)
    assert meter.busy(3.0) == 1.0


def test_ewma_moves_a_share_of_the_way_to_each_sample() -> None:
    from stenograph.transcribe.load import Ewma

    mean = Ewma(3.0, weight=0.5)
    mean.add(1.0)
    assert mean.value == 2.0
    mean.add(2.0)
    assert mean.value == 2.0
