"""Microsoft Teams' web client, anonymous (light) join in the browser (as of 2026)."""

from __future__ import annotations

from stenograph.capture.bots.platforms import People, PlatformUi

UI = PlatformUi(
    platform="teams",
    before_name=('button[aria-label="Join meeting from this browser"]',
                 'button:has-text("Continue on this browser")',
                 'button:has-text("Continue without audio or video")'),
    name_input='[data-tid="prejoin-display-name-input"]',
    mic_on='[data-tid="toggle-mute"][aria-checked="true"]',
    camera_on='[data-tid="toggle-video"][aria-checked="true"]',
    join_button='[data-tid="prejoin-join-button"]',
    lobby_text=("Someone will let you in shortly", "Someone will let you in soon"),
    # The hang-up button shows in the lobby too; the participant streams do not.
    admitted=('[data-cid="calling-participant-stream"]', "#callingButtons-showMoreBtn"),
    rejected_text=("Sorry, but you were denied access to the meeting",
                   "Your request to join was declined"),
    removed_text=("You've been removed from this meeting", "Removed from the meeting"),
    ended_text=("The meeting has ended", "Meeting ended", "Call ended"),
    leave_button="#hangup-button",
    people=People(
        tile='[data-cid="calling-participant-stream"]:not([data-stream-type="ScreenSharing"])',
        id_attr="data-tid",
        name='[data-tid="participant-display-name"]',
        # The voice-level outline gets this class while the participant speaks.
        speaking='[data-tid="voice-level-stream-outline"].vdi-frame-occlusion',
        watch_attrs=("class", "style", "aria-hidden"),
    ),
)
