"""Bot and bot-manager settings (environment STENOGRAPH_BOT_*)."""

from __future__ import annotations

import shutil
from typing import Literal

from stenograph.runtime import CommonSettings


def default_chromium() -> str | None:
    """Debian's chromium where Playwright cannot download its own browser."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


class BotSettings(CommonSettings):
    bot_chromium: str | None = default_chromium()  # None: Playwright's own browser
    bot_headless: bool = True
    bot_join_timeout_s: float = 60.0  # for the pre-join screen to show its controls
    bot_probe_interval_s: float = 0.5
    bot_heartbeat_s: float = 5.0
    bot_leave_timeout_s: float = 10.0
    bot_chunk_ms: int = 50  # PCM from the page in pieces of this length
    bot_frame_ms: int = 100  # frames published to meetings.audio
    bot_audible_rms: float = 100 / 32768  # RMS (full scale 1.0) from which a chunk is sound (silence_timeout)
    # Test harness only: serve every platform host from this origin instead of the internet.
    bot_mock_origin: str | None = None

    # bot manager
    bot_manager_group_id: str = "stenograph-bot-manager"
    # where a new group starts: earliest (with bot_request_max_age_s) so that requests sent just
    # before the manager came up are served; latest serves only requests from now on
    bot_manager_offset_reset: Literal["earliest", "latest"] = "earliest"
    bot_max_per_host: int = 3  # what one 2-core host sustains; see README
    bot_max_per_tenant: int = 5
    bot_heartbeat_timeout_s: float = 30.0  # a bot silent this long is stopped and marked failed
    bot_request_max_age_s: float = 600.0  # older join requests (a manager catching up) are refused
