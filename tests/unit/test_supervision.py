"""The local stack's restart policy: a crashed service is started again after a delay that grows
while it keeps crashing and starts over once it stayed up."""

from __future__ import annotations

import pytest

from stenograph.compose.local.supervision import Backoff, ServiceRecord, Supervision, last_error


def test_the_delay_doubles_up_to_its_cap() -> None:
    b = Backoff(first_s=1, max_s=30)
    assert [b.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_crash_waits_its_backoff_then_the_service_is_started_and_counted() -> None:
    sup = Supervision(Backoff(first_s=1, max_s=30, stable_s=60))
    assert not sup.observe("api", alive=True, now=0)  # running when first seen: nothing to do
    assert sup.crashed("api", now=100, error="killed by SIGKILL") == 101
    assert not sup.observe("api", alive=False, now=100.5)
    assert sup.observe("api", alive=False, now=101)
    sup.started("api", now=101)
    rec = sup.record("api")
    assert (rec.restarts, rec.last_error, rec.next_start_at) == (1, "killed by SIGKILL", None)


def test_a_crash_loop_backs_off_and_a_stable_run_starts_it_over() -> None:
    sup = Supervision(Backoff(first_s=1, max_s=30, stable_s=60))
    sup.observe("w", alive=True, now=0)
    now, delays = 100.0, []
    for _ in range(4):  # each run lasts 1 s
        delays.append(sup.crashed("w", now=now, error="boom") - now)
        now += delays[-1]
        sup.started("w", now=now)
        now += 1
    assert delays == [1, 2, 4, 8]
    assert sup.crashed("w", now=now + 60, error="boom") == now + 61  # up 61 s: first of a row
    assert sup.record("w").restarts == 4


def test_a_service_never_seen_running_is_started_now() -> None:
    sup = Supervision()
    assert sup.observe("kafka", alive=False, now=5)


def test_a_running_service_seen_gone_must_be_recorded_as_crashed_first() -> None:
    sup = Supervision()
    sup.observe("api", alive=True, now=0)
    with pytest.raises(ValueError, match="crashed"):
        sup.observe("api", alive=False, now=1)


def test_records_round_trip_through_json() -> None:
    rec = ServiceRecord(restarts=2, crashes_in_a_row=1, started_at=3.0, last_error="exit code 1: x")
    assert ServiceRecord.from_json(rec.to_json()) == rec
    assert ServiceRecord.from_json({"restarts": 1, "unknown": True}) == ServiceRecord(restarts=1)


def test_the_last_error_is_how_it_exited_and_its_last_error_line() -> None:
    tail = ["starting", "Traceback (most recent call last):", '  File "x.py"',
            "redis.exceptions.ConnectionError: Error 111 connecting", "shutting down"]
    assert last_error(tail, "exit code 1") == (
        "exit code 1: redis.exceptions.ConnectionError: Error 111 connecting")
    assert last_error(["all good", "bye"], None) == "bye"
    assert last_error([], "killed by SIGKILL") == "killed by SIGKILL"
    assert last_error([], None) == "exited"
