"""Settings every stage shares; each stage extends them with its own."""

from __future__ import annotations

from pydantic import AliasChoices, Field
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

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    @property
    def redis_keys(self) -> RedisKeys:
        return RedisKeys(self.redis_prefix)
