"""The registry's partition counts on a real broker: an existing topic that differs is refused
with a reason, not used (meetings would no longer sit in the same partition number on every
topic, and the aggregator's tables refuse a source topic of another partition count)."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from stenograph.runtime import create_topics
from stenograph.schemas import COMMANDS, MEETING_PARTITIONS, TopicLayoutError
from tests.support import Infra


async def test_an_existing_topic_with_other_partitions_is_refused(infra: Infra) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:  # a stack made when the commands topic had 4 partitions
        await admin.create_topics([NewTopic(f"{prefix}{COMMANDS}", 4, 1)])
    finally:
        await admin.close()
    with pytest.raises(TopicLayoutError, match=f"{prefix}{COMMANDS} has 4 partitions, the registry "
                                                f"says {MEETING_PARTITIONS}"):
        await create_topics(infra.bootstrap, prefix)
    fresh = f"t{uuid.uuid4().hex[:8]}."
    assert f"{fresh}{COMMANDS}" in await create_topics(infra.bootstrap, fresh)
    assert await create_topics(infra.bootstrap, fresh) == []  # again: all there, all right
