"""The bot's lifecycle as a table: (state, what happened) -> next state and reason. Pure.

requested -> joining -> awaiting_admission -> active -> leaving -> completed | failed. Every
exit has its reason code; anything the table does not allow is refused, so a bot can never be
"active" again after it left, nor skip the lobby's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stenograph.schemas import BotState, BotStatusChanged, JoinRequested

S = BotState


class Happening(StrEnum):
    LAUNCHED = "launched"  # a browser is starting for the bot
    IN_LOBBY = "in_lobby"  # the platform put the bot in its waiting room
    ADMITTED = "admitted"  # the meeting's own UI shows the bot inside
    REJECTED = "rejected"  # the host denied entry
    ADMISSION_TIMEOUT = "admission_timeout"
    INVALID_URL = "invalid_url"
    NO_ONE_JOINED = "no_one_joined"
    LEFT_ALONE = "left_alone"
    SILENCE = "silence"
    MAX_DURATION = "max_duration"
    LEAVE_REQUESTED = "leave_requested"
    MEETING_ERASED = "meeting_erased"  # the meeting was erased: nothing more of it may be captured
    REMOVED = "removed"  # kicked out by the host after admission
    MEETING_ENDED = "meeting_ended"
    BROWSER_CRASHED = "browser_crashed"
    HEARTBEAT_LOST = "heartbeat_lost"
    LEFT = "left"  # the bot is out of the meeting after leaving
    CAPACITY = "capacity"  # no room for another bot on this host or for this tenant
    JOIN_FAILED = "join_failed"  # the platform's join screen did not behave as expected
    EXPIRED = "request_expired"  # the request waited longer than bot_request_max_age_s
    DUPLICATE = "duplicate"  # a bot of this tenant is already in that meeting here


# Reasons that end a bot well (completed); every other ending is a failure.
CLEAN_EXITS = {Happening.LEAVE_REQUESTED, Happening.MEETING_ERASED, Happening.LEFT_ALONE,
               Happening.NO_ONE_JOINED, Happening.SILENCE, Happening.MAX_DURATION,
               Happening.MEETING_ENDED}
FAILURES = {Happening.REJECTED, Happening.ADMISSION_TIMEOUT, Happening.INVALID_URL,
            Happening.REMOVED, Happening.BROWSER_CRASHED, Happening.HEARTBEAT_LOST,
            Happening.JOIN_FAILED}
PRESENT = (S.JOINING, S.AWAITING_ADMISSION, S.ACTIVE)

TABLE: dict[tuple[BotState, Happening], BotState] = {
    (S.REQUESTED, Happening.LAUNCHED): S.JOINING,
    (S.REQUESTED, Happening.INVALID_URL): S.FAILED,
    (S.REQUESTED, Happening.LEAVE_REQUESTED): S.COMPLETED,
    (S.REQUESTED, Happening.MEETING_ERASED): S.COMPLETED,
    (S.JOINING, Happening.IN_LOBBY): S.AWAITING_ADMISSION,
    (S.JOINING, Happening.ADMITTED): S.ACTIVE,  # meetings without a lobby
    (S.AWAITING_ADMISSION, Happening.ADMITTED): S.ACTIVE,
    (S.ACTIVE, Happening.LEFT): S.COMPLETED,
    (S.LEAVING, Happening.LEFT): S.COMPLETED,
}
for _state in PRESENT:
    for _what in FAILURES - {Happening.INVALID_URL}:
        TABLE[(_state, _what)] = S.FAILED
    for _what in CLEAN_EXITS:
        TABLE[(_state, _what)] = S.LEAVING  # the bot says goodbye, then reports `left`
for _what in (Happening.BROWSER_CRASHED, Happening.HEARTBEAT_LOST):
    TABLE[(S.REQUESTED, _what)] = S.FAILED
    TABLE[(S.LEAVING, _what)] = S.FAILED
TABLE[(S.JOINING, Happening.INVALID_URL)] = S.FAILED
TABLE[(S.REQUESTED, Happening.CAPACITY)] = S.FAILED
TABLE[(S.REQUESTED, Happening.EXPIRED)] = S.FAILED
TABLE[(S.REQUESTED, Happening.DUPLICATE)] = S.FAILED
TABLE[(S.ACTIVE, Happening.MEETING_ENDED)] = S.COMPLETED  # nothing left to leave
TABLE[(S.AWAITING_ADMISSION, Happening.MEETING_ENDED)] = S.COMPLETED


class TransitionError(ValueError):
    """A happening the current state does not allow."""


@dataclass(frozen=True)
class Transition:
    state: BotState
    reason: str


def next_state(current: BotState, what: Happening, reason: str | None = None) -> Transition:
    """The state after `what`; the reason is the happening itself unless a leave carries one."""
    try:
        new = TABLE[(current, what)]
    except KeyError:
        raise TransitionError(f"{what} is not possible while {current}") from None
    return Transition(new, reason or str(what))


def is_final(state: BotState) -> bool:
    return state in (S.COMPLETED, S.FAILED)


def status_event(request: JoinRequested, current: BotState, what: Happening, sub_code: str | None = None,
                 *, reason: str | None = None, session_id: str | None = None) -> BotStatusChanged:
    """The BotStatusChanged for `what` happening to the bot of `request` while `current`."""
    step = next_state(current, what, reason)
    return BotStatusChanged(
        tenant_id=request.tenant_id, meeting_id=request.meeting_id, state=step.state,
        reason=step.reason, sub_code=sub_code[:200] if sub_code else None,
        platform=request.platform, native_meeting_id=request.native_meeting_id, session_id=session_id)
