"""The CLI side of bots: `stenograph join` sends a JoinRequested and follows the bot."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from stenograph.capture import LeaveRules, is_final
from stenograph.runtime import CommonSettings, TopicReader, reliable_producer
from stenograph.schemas import (
    COMMANDS,
    LIFECYCLE,
    BotState,
    BotStatusChanged,
    JoinRequested,
    JoinTarget,
    codec,
    key_of,
    language_problem,
    parse_meeting_url,
)


def join_request(url: str, tenant: str, name: str, language: str | None,
                 automatic_leave: dict[str, int]) -> tuple[JoinTarget, JoinRequested]:
    """A meeting link -> the JoinRequested; ValueError (MeetingUrlError) says what is wrong."""
    target = parse_meeting_url(url)
    LeaveRules.from_request(automatic_leave)
    if language is not None and (problem := language_problem(language)) is not None:
        raise ValueError(f"--language: {problem}")
    if target.platform == "teams" and not target.passcode:
        raise ValueError("join a Teams meeting by its /meet/<id>?p=<passcode> link")
    return target, JoinRequested(
        tenant_id=tenant, meeting_id=uuid.uuid4().hex, platform=target.platform,
        native_meeting_id=target.native_meeting_id, passcode=target.passcode, bot_name=name,
        language=language, automatic_leave=automatic_leave)


async def join_and_follow(settings: CommonSettings, request: JoinRequested, timeout_s: float,
                          on_status: Callable[[BotStatusChanged], None]) -> BotStatusChanged | None:
    """Send the request, then report the bot's states until it is active or has ended."""
    lifecycle = codec(LIFECYCLE)
    async with TopicReader(settings.kafka_bootstrap_servers, [settings.topics.lifecycle]) as reader:
        producer = reliable_producer(settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(settings.topics.commands, codec(COMMANDS).encode(request),
                                         key=key_of(request))
        finally:
            await producer.stop()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for m in await reader.batch(timeout_s=0.5):
                try:
                    event = lifecycle.decode(m.value)
                except ValueError:
                    continue
                if not isinstance(event, BotStatusChanged) or event.meeting_id != request.meeting_id:
                    continue
                on_status(event)
                if event.state == BotState.ACTIVE or is_final(event.state):
                    return event
    return None

