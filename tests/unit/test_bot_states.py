"""The bot state machine: every path through it, and everything it refuses."""

from __future__ import annotations

import pytest

from stenograph.capture.bots.states import (
    CLEAN_EXITS,
    FAILURES,
    TABLE,
    Happening,
    TransitionError,
    is_final,
    next_state,
)
from stenograph.schemas.events import BotState as S

H = Happening


def walk(*steps: H | tuple[H, str]) -> list[tuple[S, str]]:
    state, out = S.REQUESTED, []
    for step in steps:
        what, reason = step if isinstance(step, tuple) else (step, None)
        t = next_state(state, what, reason)
        state = t.state
        out.append((t.state, t.reason))
    return out


def test_admitted_through_the_lobby_then_asked_to_leave() -> None:
    assert walk(H.LAUNCHED, H.IN_LOBBY, H.ADMITTED, H.LEAVE_REQUESTED, (H.LEFT, "leave_requested")) == [
        (S.JOINING, "launched"), (S.AWAITING_ADMISSION, "in_lobby"), (S.ACTIVE, "admitted"),
        (S.LEAVING, "leave_requested"), (S.COMPLETED, "leave_requested")]


@pytest.mark.parametrize("what", [H.REJECTED, H.ADMISSION_TIMEOUT])
def test_the_lobby_fails_with_its_reason(what: H) -> None:
    assert walk(H.LAUNCHED, H.IN_LOBBY, what)[-1] == (S.FAILED, str(what))


@pytest.mark.parametrize("what", sorted(CLEAN_EXITS - {H.MEETING_ENDED}))
def test_automatic_leaves_end_completed_with_their_reason(what: H) -> None:
    steps = walk(H.LAUNCHED, H.ADMITTED, what, (H.LEFT, str(what)))
    assert steps[-2:] == [(S.LEAVING, str(what)), (S.COMPLETED, str(what))]


def test_removed_meeting_ended_crash_and_lost_heartbeat() -> None:
    assert walk(H.LAUNCHED, H.ADMITTED, H.REMOVED)[-1] == (S.FAILED, "removed")
    assert walk(H.LAUNCHED, H.ADMITTED, H.MEETING_ENDED)[-1] == (S.COMPLETED, "meeting_ended")
    assert walk(H.LAUNCHED, H.BROWSER_CRASHED)[-1] == (S.FAILED, "browser_crashed")
    assert walk(H.LAUNCHED, H.ADMITTED, H.LEAVE_REQUESTED, H.HEARTBEAT_LOST)[-1] == (
        S.FAILED, "heartbeat_lost")
    assert walk(H.INVALID_URL) == [(S.FAILED, "invalid_url")]


def test_a_lobby_is_never_taken_for_admission_and_ended_bots_stay_ended() -> None:
    with pytest.raises(TransitionError):
        next_state(S.REQUESTED, H.ADMITTED)  # no browser yet, nothing to be admitted to
    for final in (S.COMPLETED, S.FAILED):
        assert is_final(final)
        for what in Happening:
            with pytest.raises(TransitionError, match=f"while {final}"):
                next_state(final, what)


def test_every_failure_is_reachable_from_every_state_the_bot_is_present_in() -> None:
    for state in (S.JOINING, S.AWAITING_ADMISSION, S.ACTIVE):
        for what in FAILURES - {H.INVALID_URL}:
            assert TABLE[(state, what)] == S.FAILED
