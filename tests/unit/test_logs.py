"""stenograph/runtime/logs.py: text or JSON lines, each naming the meeting and tenant it is about."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys

import pytest

from stenograph.runtime import logs


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    yield capsys
    logs.configure("WARNING", "text")  # leave the root logger as other tests expect


def test_json_lines_carry_the_context_ids(captured: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "json")
    log = logging.getLogger("stenograph.test")
    with logs.log_context(meeting_id="m-1", tenant_id="acme"):
        log.info("chunk %d decoded", 7)
        with logs.log_context(meeting_id="m-2"):  # inner ids win, outer ones stay
            log.warning("other")
    log.info("no meeting")
    lines = [json.loads(line) for line in captured.readouterr().err.splitlines()]
    assert [(r["message"], r.get("meeting_id"), r.get("tenant_id")) for r in lines] == [
        ("chunk 7 decoded", "m-1", "acme"), ("other", "m-2", "acme"), ("no meeting", None, None)]
    assert {"time", "level", "logger"} <= set(lines[0]) and lines[1]["level"] == "WARNING"


def test_text_lines_append_the_ids(captured: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "text")
    with logs.log_context(meeting_id="m-1", tenant_id=None):
        logging.getLogger("stenograph.test").info("hello")
    assert captured.readouterr().err.rstrip().endswith("stenograph.test: hello [meeting=m-1]")


async def test_concurrent_tasks_keep_their_own_ids(captured: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "json")

    async def work(meeting: str) -> None:
        with logs.log_context(meeting_id=meeting):
            await asyncio.sleep(0.01)
            logging.getLogger("stenograph.test").info(meeting)

    await asyncio.gather(work("a"), work("b"))
    lines = [json.loads(line) for line in captured.readouterr().err.splitlines()]
    assert sorted((r["message"], r["meeting_id"]) for r in lines) == [("a", "a"), ("b", "b")]


def test_the_cli_refuses_an_unknown_format_in_one_line() -> None:
    env = {**os.environ, "STENOGRAPH_LOG_FORMAT": "xml"}
    proc = subprocess.run([sys.executable, "-m", "stenograph", "topics"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: log format 'xml' (--log-format / STENOGRAPH_LOG_FORMAT): "
                                   "one of text, json")


def test_faust_workers_log_json_lines_too(captured: pytest.CaptureFixture[str]) -> None:
    """A faust.Worker sets up logging itself when it starts (mode's setup_logging, its own
    coloured format); given faust_logging() and our handler it writes the same JSON lines."""
    from mode.utils.logging import setup_logging

    setup_logging(loglevel="info", loghandlers=[logs.handler("json")],  # as faust.Worker calls it
                  logging_config=logs.faust_logging("info"))
    with logs.log_context(meeting_id="m-1", tenant_id="acme"):
        logging.getLogger("faust.test").info("table recovered")
    [line] = [json.loads(s) for s in captured.readouterr().err.splitlines()]
    assert (line["message"], line["meeting_id"], line["tenant_id"], line["level"]) == (
        "table recovered", "m-1", "acme", "INFO")


async def test_webhook_deliveries_name_their_meeting(captured: pytest.CaptureFixture[str]) -> None:
    from stenograph.webhooks.dispatcher import _logged

    logs.configure("INFO", "json")

    class Event:
        meeting_id, tenant_id = "m-9", "acme"

    async def deliver() -> None:
        logging.getLogger("stenograph.webhooks").warning("gave up")

    await _logged(Event(), deliver)  # the delivery is started inside the context
    [line] = [json.loads(s) for s in captured.readouterr().err.splitlines()]
    assert (line["meeting_id"], line["tenant_id"]) == ("m-9", "acme")
