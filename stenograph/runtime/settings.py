"""Settings every stage shares; each stage extends them with its own."""

from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stenograph.readmodel import RedisKeys
from stenograph.schemas import TopicNames

DEFAULT_KAFKA = "127.0.0.1:29092"
DEFAULT_REDIS = "redis://127.0.0.1:16379/0"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STENOGRAPH_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        DEFAULT_KAFKA,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "STENOGRAPH_KAFKA_BOOTSTRAP_SERVERS"),
    )
    redis_url: str = Field(
        DEFAULT_REDIS, validation_alias=AliasChoices("REDIS_URL", "STENOGRAPH_REDIS_URL")
    )
    topic_prefix: str = ""
    redis_prefix: str = "stg"
    tenant: str = "local"
    metrics_port: int | None = None  # where this process serves Prometheus metrics (None: not served)
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 in a container, for the scraper on its network
    # how `stenograph topics` creates the registry's topics: 1 for one broker; 3 and 2 for a
    # cluster, so one broker down loses no acknowledged record (acks=all) and stops no writer
    kafka_replication_factor: int = Field(1, ge=1)
    kafka_min_insync_replicas: int | None = Field(None, ge=1)  # None: the broker's default

    @model_validator(mode="after")
    def _isr_within_replicas(self) -> Self:
        isr = self.kafka_min_insync_replicas
        if isr is not None and isr > self.kafka_replication_factor:
            raise ValueError(f"STENOGRAPH_KAFKA_MIN_INSYNC_REPLICAS={isr} exceeds "
                             f"STENOGRAPH_KAFKA_REPLICATION_FACTOR={self.kafka_replication_factor}: "
                             "no write could ever be acknowledged")
        return self

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    @property
    def redis_keys(self) -> RedisKeys:
        return RedisKeys(self.redis_prefix)
