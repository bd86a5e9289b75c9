"""Settings every stage shares; each stage extends them with its own."""

from __future__ import annotations

import os
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stenograph.readmodel import RedisKeys
from stenograph.runtime.paths import state_dir
from stenograph.schemas import TopicNames, new_master_key, parse_master_key

SECRET_KEY_FILE = "secret-key"


class MissingSetting(ValueError):
    """A setting a command needs and neither the environment nor the local stack has."""

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
    # the master key that wraps every session's audio data key and every webhook secret
    # (schemas/sealing.py); unset: the local stack's own, made once in the state directory
    secret_key: SecretStr | None = None

    @field_validator("secret_key")
    @classmethod
    def _a_real_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_master_key(value.get_secret_value())  # a bad key fails at start, with its reason
        return value

    @model_validator(mode="after")
    def _isr_within_replicas(self) -> Self:
        isr = self.kafka_min_insync_replicas
        if isr is not None and isr > self.kafka_replication_factor:
            raise ValueError(f"STENOGRAPH_KAFKA_MIN_INSYNC_REPLICAS={isr} exceeds "
                             f"STENOGRAPH_KAFKA_REPLICATION_FACTOR={self.kafka_replication_factor}: "
                             "no write could ever be acknowledged")
        return self

    @cached_property
    def master_key(self) -> bytes:
        if self.secret_key is not None:
            return parse_master_key(self.secret_key.get_secret_value())
        path = local_secret_key_path()
        if not path.exists():  # never a key of its own: it would seal what no other process opens
            raise MissingSetting("STENOGRAPH_SECRET_KEY is not set and there is no local stack key "
                                 f"at {path} (`stenograph up` makes one)")
        return parse_master_key(path.read_text())

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    @property
    def redis_keys(self) -> RedisKeys:
        return RedisKeys(self.redis_prefix)


def local_secret_key_path() -> Path:
    return state_dir() / SECRET_KEY_FILE


def local_secret_key() -> str:
    """The local stack's master key: made once, kept beside its data (mode 0600), shared by
    every process of the stack and by the CLI on this machine; a deployment sets
    STENOGRAPH_SECRET_KEY instead."""
    path = local_secret_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-key.")  # mode 0600
        with os.fdopen(fd, "w") as f:
            f.write(new_master_key() + "\n")
        try:
            os.link(tmp, path)  # whole or not at all; a concurrent maker's key wins as it is
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
