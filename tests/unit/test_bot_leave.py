"""Automatic leave rules and the page verdicts: pure."""

from __future__ import annotations

import pytest

from stenograph.capture.bots.leave import DEFAULTS_MS, LeaveRules, LeaveWatch
from stenograph.capture.bots.states import Happening as H
from stenograph.capture.bots.verdict import Probe, verdict
from stenograph.schemas.events import BotState as S

RULES = LeaveRules.from_request({"waiting_room_timeout": 10_000, "no_one_joined_timeout": 20_000,
                                 "everyone_left_timeout": 5_000, "silence_timeout": 30_000,
                                 "max_duration": 100_000})


def test_defaults_apply_and_requests_override_in_milliseconds() -> None:
    rules = LeaveRules.from_request({"everyone_left_timeout": 2_500})
    assert rules.everyone_left_timeout == 2.5
    assert rules.waiting_room_timeout == DEFAULTS_MS["waiting_room_timeout"] / 1000


def test_unknown_settings_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="lobby_timeout"):
        LeaveRules.from_request({"lobby_timeout": 1})


def test_waiting_room_timeout_counts_from_launch() -> None:
    watch = LeaveWatch(RULES, launched_at=100.0)
    assert watch.waiting(109.9) is None
    assert watch.waiting(110.0) == H.ADMISSION_TIMEOUT


def test_no_one_joined_only_when_no_one_ever_came() -> None:
    watch = LeaveWatch(RULES, launched_at=0.0)
    watch.admitted(1.0)
    assert watch.in_call(20.9, others=0, audible=False) is None
    assert watch.in_call(21.0, others=0, audible=False) == H.NO_ONE_JOINED


def test_everyone_left_counts_from_when_the_last_one_went() -> None:
    watch = LeaveWatch(RULES, launched_at=0.0)
    watch.admitted(0.0)
    assert watch.in_call(1.0, others=2, audible=True) is None
    assert watch.in_call(50.0, others=1, audible=True) is None  # people there: no leave, however long
    assert watch.in_call(51.0, others=0, audible=False) is None
    assert watch.in_call(55.9, others=0, audible=False) is None
    assert watch.in_call(56.0, others=0, audible=False) == H.LEFT_ALONE


def test_someone_coming_back_resets_the_alone_clock() -> None:
    watch = LeaveWatch(RULES, launched_at=0.0)
    watch.admitted(0.0)
    watch.in_call(1.0, others=1, audible=True)
    watch.in_call(2.0, others=0, audible=True)
    watch.in_call(6.0, others=1, audible=True)
    assert watch.in_call(10.0, others=0, audible=True) is None
    assert watch.in_call(15.0, others=0, audible=True) == H.LEFT_ALONE


def test_silence_and_max_duration() -> None:
    watch = LeaveWatch(RULES, launched_at=0.0)
    watch.admitted(0.0)
    assert watch.in_call(29.0, others=1, audible=False) is None
    assert watch.in_call(30.0, others=1, audible=False) == H.SILENCE
    watch = LeaveWatch(RULES, launched_at=0.0)
    watch.admitted(0.0)
    for t in range(1, 100):
        assert watch.in_call(float(t), others=1, audible=True) is None
    assert watch.in_call(100.0, others=1, audible=True) == H.MAX_DURATION


def test_a_lobby_with_the_call_buttons_is_still_a_lobby() -> None:
    probe = Probe(admitted=True, lobby=True)
    assert verdict(S.JOINING, probe) == (H.IN_LOBBY, None)
    assert verdict(S.AWAITING_ADMISSION, probe) is None
    assert verdict(S.AWAITING_ADMISSION, Probe(admitted=True)) == (H.ADMITTED, None)


def test_rejection_removal_and_end_carry_the_page_words() -> None:
    assert verdict(S.AWAITING_ADMISSION, Probe(rejected="denied", lobby=True)) == (H.REJECTED, "denied")
    assert verdict(S.ACTIVE, Probe(removed="You've been removed")) == (H.REMOVED, "You've been removed")
    assert verdict(S.ACTIVE, Probe(ended="ended", admitted=False)) == (H.MEETING_ENDED, "ended")
    assert verdict(S.ACTIVE, Probe(admitted=True, others=2)) is None
    assert verdict(S.ACTIVE, Probe(admitted=False)) == (H.MEETING_ENDED, "call_ui_gone")


def test_probe_ignores_fields_it_does_not_know() -> None:
    assert Probe.of({"admitted": True, "others": 3, "surprise": 1}) == Probe(admitted=True, others=3)


def test_the_api_accepts_exactly_the_known_leave_settings() -> None:
    from typing import get_args

    from stenograph.api.models import AutoLeave
    assert set(get_args(AutoLeave)) == set(DEFAULTS_MS)
