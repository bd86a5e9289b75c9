"""The join and leave steps on a platform's page (I/O with the browser; the selectors come from
the platform module)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from stenograph.capture.bots.platforms import PlatformUi


class JoinError(RuntimeError):
    """The pre-join screen did not offer what the platform module expects."""


async def _click_if_shown(page: Page, selector: str) -> bool:
    target = page.locator(selector).first
    with contextlib.suppress(PlaywrightError):
        if await target.is_visible():
            await target.click(timeout=2_000)
            return True
    return False


async def ask_to_join(page: Page, ui: PlatformUi, url: str, bot_name: str, timeout_s: float) -> None:
    """Open the meeting, fill the name, turn mic and camera off and ask to join."""
    await page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
    name = page.locator(ui.name_input).first
    deadline = time.monotonic() + timeout_s
    while not await name.is_visible():
        for selector in ui.before_name:  # "continue on this browser", cookie banners, tips
            await _click_if_shown(page, selector)
        if time.monotonic() > deadline:
            raise JoinError(f"no name field ({ui.name_input}) after {timeout_s:.0f} s")
        await asyncio.sleep(0.2)
    await name.fill(bot_name)
    for control in (ui.mic_on, ui.camera_on):
        if control is not None:
            await _click_if_shown(page, control)
    for selector in ui.before_join:
        await _click_if_shown(page, selector)
    try:
        await page.locator(ui.join_button).first.click(timeout=timeout_s * 1000)
    except PlaywrightError as exc:
        raise JoinError(f"could not ask to join: {str(exc).splitlines()[0]}") from exc


async def leave_call(page: Page, ui: PlatformUi, timeout_s: float) -> bool:
    """Press the platform's leave button (and its confirmation); False if there was none."""
    if not await _click_if_shown(page, ui.leave_button):
        return False
    if ui.leave_confirm is not None:
        with contextlib.suppress(PlaywrightError):
            confirm = page.locator(ui.leave_confirm).first
            await confirm.wait_for(state="visible", timeout=timeout_s * 1000)
            await confirm.click(timeout=timeout_s * 1000)
    return True
