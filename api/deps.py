"""Request dependencies: the opened clients live on app.state, set up in the lifespan."""

from __future__ import annotations

from typing import Annotated

from aiokafka import AIOKafkaProducer
from fastapi import Depends, Request

from api.settings import ApiSettings
from api.store import ReadStore


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_store(request: Request) -> ReadStore:
    store: ReadStore = request.app.state.store
    return store


def get_producer(request: Request) -> AIOKafkaProducer:
    producer: AIOKafkaProducer = request.app.state.producer
    return producer


def get_tenant(settings: Annotated[ApiSettings, Depends(get_settings)]) -> str:
    """The caller's tenant. Single-tenant until API keys arrive: the configured tenant."""
    return settings.tenant


Settings = Annotated[ApiSettings, Depends(get_settings)]
Store = Annotated[ReadStore, Depends(get_store)]
Producer = Annotated[AIOKafkaProducer, Depends(get_producer)]
Tenant = Annotated[str, Depends(get_tenant)]
