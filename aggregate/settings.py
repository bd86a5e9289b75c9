"""Aggregator settings (environment variables STENOGRAPH_*)."""

from __future__ import annotations

from stenograph.runtime import CommonSettings


class AggregatorSettings(CommonSettings):
    app_id: str = "stenograph-aggregator"
    log_level: str = "info"
    snapshot_interval_s: float = 5.0  # a run's whole-transcript snapshot, at most this often
    read_model_check_s: float = 5.0  # how often the read model's epoch marker is looked for
    # partitions behind, nothing applied and no commit for this long: the consumer is sought back
    # to its committed offsets (aggregate/watchdog.py)
    stall_after_s: float = 20.0
