"""Google Meet's web client, as anonymous bots see it (selectors and texts as of 2026)."""

from __future__ import annotations

from stenograph.capture.bots.platforms import People, PlatformUi

# Meet's obfuscated class names for the speaking animation on a participant tile.
SPEAKING_CLASSES = ("Oaajhc", "HX2H7", "wEsLMd", "OgVli")

UI = PlatformUi(
    platform="google_meet",
    before_name=('button:has-text("Got it")',),
    name_input='input[type="text"][aria-label="Your name"]',
    mic_on='[aria-label="Turn off microphone"]',
    camera_on='[aria-label="Turn off camera"]',
    before_join=('button:has-text("Continue without microphone and camera")',),
    join_button='button:has-text("Ask to join"), button:has-text("Join now")',
    lobby_text=("Asking to be let in", "You'll join the call when someone lets you in",
                "Please wait until a meeting host brings you into the call"),
    # The leave button already exists in the lobby; participant tiles and the people button do not.
    admitted=('[data-participant-id]', 'button[aria-label^="People"]'),
    rejected_text=("Someone in the call denied your request to join",
                   "No one responded to your request to join the call",
                   "You can't join this video call"),
    removed_text=("You've been removed from the meeting",),
    ended_text=("Your host ended the meeting for everyone", "The call has ended", "Call ended"),
    leave_button='button[aria-label="Leave call"]',
    people=People(
        tile="div[data-participant-id]",
        id_attr="data-participant-id",
        name="span.notranslate",
        speaking=", ".join(f".{c}" for c in SPEAKING_CLASSES),
    ),
)
