"""The registry's partition counts on a real broker: an existing topic that differs is refused
with a reason, not used (meetings would no longer sit in the same partition number on every
topic, and the aggregator's tables refuse a source topic of another partition count)."""

from __future__ import annotations

import asyncio
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


async def test_replication_settings_reach_the_topics_and_a_factor_too_high_is_refused(infra: Infra) -> None:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    from aiokafka.errors import InvalidReplicationFactorError

    prefix = f"t{uuid.uuid4().hex[:8]}."
    with pytest.raises(InvalidReplicationFactorError, match="not created"):  # one broker, not 3
        await create_topics(infra.bootstrap, prefix, replication_factor=3, min_insync_replicas=2)
    await create_topics(infra.bootstrap, prefix, replication_factor=1, min_insync_replicas=1)
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        # a topic is created asynchronously: the broker asked may not know it yet (an error
        # code and no configs), so ask until it answers with the config
        resource = ConfigResource(ConfigResourceType.TOPIC, f"{prefix}{COMMANDS}",
                                  {"min.insync.replicas": None})
        for _ in range(50):
            [described] = await admin.describe_configs([resource])
            code, message, *_, entries = described.resources[0]
            configs = {c[0]: c[1] for c in entries}
            if "min.insync.replicas" in configs:
                break
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    assert configs.get("min.insync.replicas") == "1", (code, message, configs)
