"""Bot requests become JoinRequested commands on Kafka; bots act on them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status

from api.deps import Producer, Settings, Store, Tenant
from api.models import BotRequest, Meeting
from api.store import ACTIVE_STATES
from schemas.codec import codec, key_of
from schemas.events import JoinRequested
from schemas.topics import COMMANDS

router = APIRouter(tags=["bots"])


@router.post("/bots", status_code=status.HTTP_201_CREATED, response_model=Meeting)
async def request_bot(
    body: BotRequest, store: Store, producer: Producer, settings: Settings, tenant: Tenant
) -> Meeting:
    current = await store.resolve(tenant, body.platform, body.native_meeting_id)
    if current is not None:
        meeting = await store.meeting(tenant, current)
        if meeting is not None and meeting.status in ACTIVE_STATES:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"a bot for {body.platform}/{body.native_meeting_id} is already {meeting.status}",
            )
    event = JoinRequested(
        tenant_id=tenant,
        meeting_id=uuid.uuid4().hex,
        platform=body.platform,
        native_meeting_id=body.native_meeting_id,
        bot_name=body.bot_name or settings.default_bot_name,
        passcode=body.passcode,
        language=body.language,
        task=body.task,
        automatic_leave=body.automatic_leave or {},
    )
    await producer.send_and_wait(settings.topics.commands, codec(COMMANDS).encode(event),
                                 key=key_of(event))
    return Meeting(
        id=event.meeting_id, platform=event.platform, native_meeting_id=event.native_meeting_id,
        status="requested",
    )
