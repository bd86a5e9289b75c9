"""Chromium for a bot: launched headless with fake devices, the capture script in every page."""

from __future__ import annotations

import json
import re
import wave
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext, Playwright, Route

from stenograph.capture.bots.platforms import PlatformUi
from stenograph.capture.bots.settings import BotSettings
from stenograph.schemas import BYTES_PER_SAMPLE, SAMPLE_RATE

ARGS = [
    "--no-sandbox",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-default-apps", "--disable-extensions",
    "--disable-gpu",  # nothing to show anyone: software compositing of a bare page is cheaper
    # the bot's own devices are fakes it turns off; remote audio must play without a gesture
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # the page talks to the bot on 127.0.0.1: Chromium's local-network checks would block it;
    # mDNS-hidden host candidates would keep an offline WebRTC loopback from connecting
    "--disable-features=LocalNetworkAccessChecks,WebRtcHideLocalIpsWithMdns",
]
PLATFORM_HOSTS = re.compile(r"^https://([a-z0-9-]+\.)*(google\.com|microsoft\.com|live\.com|zoom\.us)/")


def capture_script(ui: PlatformUi, bot_name: str, bridge_url: str, settings: BotSettings) -> str:
    page = resources.files("stenograph.capture.bots") / "page"
    config: dict[str, Any] = {
        **ui.page_config(bot_name),
        "bridge": bridge_url,
        "sample_rate": SAMPLE_RATE,
        "chunk_samples": SAMPLE_RATE // 1000 * settings.bot_chunk_ms,
        "worklet": (page / "worklet.js").read_text(),
    }
    return (page / "capture.js").read_text().replace("__STENOGRAPH_CONFIG__", json.dumps(config))


def silent_wav(directory: Path) -> Path:
    """One second of digital silence: Chromium's fake microphone plays it instead of its beep,
    so even a microphone the platform's UI failed to mute carries no sound."""
    path = directory / "silence.wav"
    if not path.is_file():
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(bytes(SAMPLE_RATE * BYTES_PER_SAMPLE))
    return path


async def launch(pw: Playwright, settings: BotSettings, workdir: Path) -> Browser:
    args = [*ARGS, f"--use-file-for-fake-audio-capture={silent_wav(workdir)}"]
    return await pw.chromium.launch(
        executable_path=settings.bot_chromium, headless=settings.bot_headless, args=args)


async def new_context(browser: Browser, settings: BotSettings, script: str) -> BrowserContext:
    context = await browser.new_context(
        bypass_csp=True,  # platforms' CSP would forbid the local bridge and the worklet blob
        viewport={"width": 1280, "height": 720},
        permissions=["microphone", "camera"],
    )
    await context.add_init_script(script)
    if settings.bot_mock_origin:
        await _serve_platforms_from(context, settings.bot_mock_origin)
    return context


async def _serve_platforms_from(context: BrowserContext, origin: str) -> None:
    """Test harness: platform hosts answer from the mock server; nothing else is reachable."""

    async def handle(route: Route) -> None:
        url = urlsplit(route.request.url)
        target = f"{origin.rstrip('/')}/{url.hostname}{url.path}" + (f"?{url.query}" if url.query else "")
        response = await route.fetch(url=target)
        await route.fulfill(response=response)

    async def refuse(route: Route) -> None:
        await route.abort("blockedbyclient")

    await context.route(re.compile(r"^https?://"), refuse)
    await context.route(PLATFORM_HOSTS, handle)  # later routes take precedence
