"""The aggregator's stall detector: a consumer behind its partitions' ends, idle, and not
committing for long enough has stalled; anything else has not."""

from __future__ import annotations

from stenograph.aggregate.watchdog import GapDetector, StallDetector, lag

TP = ("t.meetings.segments", 6)


def test_behind_idle_and_not_committing_for_long_enough_is_a_stall_once() -> None:
    watch = StallDetector(after_s=20.0)
    assert not watch.stalled(0.0, {TP: 10}, {TP: 43}, busy=False)  # first look: the clock starts
    assert not watch.stalled(15.0, {TP: 10}, {TP: 43}, busy=False)
    assert watch.stalled(20.0, {TP: 10}, {TP: 43}, busy=False)
    assert not watch.stalled(25.0, {TP: 10}, {TP: 43}, busy=False)  # the next verdict waits again
    assert watch.stalled(40.0, {TP: 10}, {TP: 43}, busy=False)


def test_progress_an_event_being_applied_or_no_lag_is_no_stall() -> None:
    watch = StallDetector(after_s=20.0)
    watch.stalled(0.0, {TP: 10}, {TP: 43}, busy=False)
    assert not watch.stalled(19.0, {TP: 11}, {TP: 43}, busy=False)  # committed moved
    assert not watch.stalled(38.0, {TP: 11}, {TP: 43}, busy=True)  # applying (Redis retried, say)
    assert not watch.stalled(57.0, {TP: 11}, {TP: 43}, busy=False)
    assert not watch.stalled(100.0, {TP: 43}, {TP: 43}, busy=False)  # caught up
    assert not watch.stalled(200.0, {TP: 43}, {TP: 43}, busy=False)
    other = ("t.meetings.segments", 7)
    assert not watch.stalled(300.0, {TP: 43}, {TP: 43, other: 5}, busy=False)  # never committed: 0
    assert watch.stalled(320.0, {TP: 43}, {TP: 43, other: 5}, busy=False)
    watch.reset(330.0)  # a rebalance: its recovery delivers nothing, rightly
    assert not watch.stalled(345.0, {TP: 43}, {TP: 43, other: 5}, busy=False)


def test_lag_per_partition() -> None:
    assert lag({TP: 10}, {TP: 43, ("t.meetings.commands", 0): 2}) == {TP: 33, ("t.meetings.commands", 0): 2}
    assert lag({TP: 50}, {TP: 43}) == {TP: 0}


def test_a_hole_in_a_partitions_offsets_is_reported_once() -> None:
    gaps = GapDetector()
    assert gaps.delivered(("segments", 0), 10) is None  # the first one seen: nothing to compare
    assert gaps.delivered(("segments", 0), 11) is None
    assert gaps.delivered(("segments", 1), 3) is None  # partitions apart
    assert gaps.delivered(("segments", 0), 15) == (12, 14)
    assert gaps.delivered(("segments", 0), 12) is None  # read again after a seek: no hole
    assert gaps.delivered(("segments", 0), 16) is None
    gaps.forget()
    assert gaps.delivered(("segments", 0), 40) is None
