"""Zoom's web client (app.zoom.us/wc), joined from the browser without the app (as of 2026)."""

from __future__ import annotations

from stenograph.capture.bots.platforms import People, PlatformUi
from stenograph.schemas import JoinTarget


def web_client_url(target: JoinTarget) -> str:
    """zoom.us/j/<id> opens a page that pushes the desktop app; the web client joins directly."""
    url = f"https://app.zoom.us/wc/{target.native_meeting_id}/join"
    return url + (f"?pwd={target.passcode}" if target.passcode else "")


UI = PlatformUi(
    platform="zoom",
    open_url=web_client_url,
    before_name=("#onetrust-accept-btn-handler",),
    name_input="#input-for-name",
    mic_on='#preview-audio-control-button[aria-label="Mute"]',
    camera_on='#preview-video-control-button[aria-label="Stop Video"]',
    join_button="button.preview-join-button",
    lobby_text=("Please wait, the meeting host will let you in soon",
                "Waiting for the host to start this meeting"),
    # .meeting-app also wraps the waiting room; the footer's leave button does not.
    admitted=('#wc-footer button[aria-label="Leave"]',),
    rejected_text=("The host has removed you from the waiting room",
                   "You have been denied entry"),
    removed_text=("You have been removed from the meeting", "removed from the meeting"),
    ended_text=("This meeting has been ended by host",),
    leave_button='#wc-footer button[aria-label="Leave"]',
    leave_confirm="button.leave-meeting-options__btn--danger",
    people=People(
        tile=".video-avatar__avatar",
        name=".video-avatar__avatar-footer > span",
        # Zoom shows who speaks by putting their video in the active-speaker frame.
        speaking=".speaker-active-container__video-frame, .speaker-bar-container__video-frame--active",
    ),
)
