"""The live transcript page in real Chromium (Debian's, driven by Playwright): while a meeting
streams, its words appear on the page; at the end the final text is there."""

from __future__ import annotations

import shutil
import uuid

import pytest
from playwright.async_api import async_playwright

from tests.support import DATA, Pipeline

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


async def test_words_appear_on_the_page_while_audio_streams(pipeline: Pipeline) -> None:
    native = f"page-{uuid.uuid4().hex[:8]}"
    streamer = pipeline.stream_live(DATA / "jfk.flac", f"zoom/{native}")
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                               args=["--no-sandbox"])
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            requested: list[str] = []  # every URL the page asks for, sockets included
            page.on("request", lambda r: requested.append(r.url))
            page.on("websocket", lambda ws: requested.append(ws.url))
            # the key in the fragment: browsers never send it, so no server or proxy logs it
            await page.goto(f"{pipeline.api_url}/live#api_key={pipeline.api_key}")
            link = page.locator(f'nav a[data-ref="zoom/{native}"]')
            await link.wait_for(timeout=30_000)  # the meeting list refreshes every 10 s
            await link.click()
            await page.locator("#transcript .segment").first.wait_for(timeout=30_000)
            assert streamer.poll() is None, "no words on the page before the audio ended"
            seen_while_streaming = await page.locator("#transcript .segment .text").all_inner_texts()
            assert any(t.strip() for t in seen_while_streaming)
            await page.locator("#state", has_text="completed").wait_for(timeout=60_000)
            final = page.locator("#transcript .segment.final .text", has_text="country")
            await final.first.wait_for(timeout=30_000)
            assert await page.locator("#transcript .segment.interim").count() == 0
            assert page.url.endswith(f"#zoom/{native}") and "api_key" not in page.url
            assert any(u.endswith("/ws") for u in requested), requested  # live over the socket
            assert not [u for u in requested if pipeline.api_key in u]
            assert errors == []
            await browser.close()
    finally:
        streamer.wait(timeout=60)
