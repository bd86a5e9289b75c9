"""Speaker attribution by time overlap with the meeting UI's speaking indicators: pure."""

from __future__ import annotations

from stenograph.aggregate.speakers import (
    MAPPED,
    MULTIPLE,
    OPEN_END,
    UNKNOWN,
    Indicator,
    Interval,
    attribute,
    intervals,
)

S = 1_000_000_000


def on(pid: str, t: float) -> Indicator:
    return Indicator(pid, pid.title(), True, int(t * S))


def off(pid: str, t: float) -> Indicator:
    return Indicator(pid, pid.title(), False, int(t * S))


def test_on_off_pairs_become_intervals_in_any_arrival_order() -> None:
    spans = intervals([off("ann", 3), on("bob", 4), on("ann", 1), on("ann", 2)])
    assert spans == [Interval("ann", "Ann", 1 * S, 3 * S), Interval("bob", "Bob", 4 * S, OPEN_END)]


def test_a_segment_goes_to_whoever_overlaps_it_most() -> None:
    spans = intervals([on("ann", 0), off("ann", 5), on("bob", 5.2), off("bob", 9)])
    assert attribute(int(0.5 * S), int(4.8 * S), spans) == ("Ann", MAPPED)
    assert attribute(int(5.5 * S), int(8 * S), spans) == ("Bob", MAPPED)
    assert attribute(int(4.5 * S), int(8 * S), spans) == ("Bob", MAPPED)  # Ann's 0.5 s is small


def test_crosstalk_is_marked_multiple_and_gaps_unknown() -> None:
    spans = intervals([on("ann", 0), on("bob", 1), off("ann", 4), off("bob", 4)])
    assert attribute(0, 4 * S, spans) == ("Ann", MULTIPLE)
    assert attribute(10 * S, 12 * S, spans) == (None, UNKNOWN)
