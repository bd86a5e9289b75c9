"""The shared runtime every stage runs on: the consumer core, the readers, Kafka helpers, settings."""

from __future__ import annotations

from stenograph.runtime import health, metrics
from stenograph.runtime.consumer import ConsumerConfig, GroupConsumer, Record, Step
from stenograph.runtime.feeds import TableFeed, wait_unless_failed
from stenograph.runtime.kafka import (
    create_topics,
    dlq_headers,
    meeting_partition,
    plain_consumer,
    reliable_producer,
)
from stenograph.runtime.keyring import KeyNotYet, KeyRing, MeetingKeys, meeting_key_records, meeting_keys
from stenograph.runtime.logs import log_context
from stenograph.runtime.paths import cache_dir, state_dir
from stenograph.runtime.readers import TopicReader, read_range
from stenograph.runtime.retry import retrying
from stenograph.runtime.settings import CommonSettings, MissingSetting, local_secret_key

__all__ = [
    "CommonSettings",
    "ConsumerConfig",
    "GroupConsumer",
    "KeyNotYet",
    "KeyRing",
    "MeetingKeys",
    "MissingSetting",
    "Record",
    "Step",
    "TableFeed",
    "TopicReader",
    "cache_dir",
    "create_topics",
    "dlq_headers",
    "health",
    "local_secret_key",
    "log_context",
    "meeting_key_records",
    "meeting_keys",
    "meeting_partition",
    "metrics",
    "plain_consumer",
    "read_range",
    "reliable_producer",
    "retrying",
    "state_dir",
    "wait_unless_failed",
]
