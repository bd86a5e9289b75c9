"""Aggregator settings (environment variables STENOGRAPH_*)."""

from __future__ import annotations

from stenograph.runtime.settings import CommonSettings


class AggregatorSettings(CommonSettings):
    app_id: str = "stenograph-aggregator"
    log_level: str = "info"
