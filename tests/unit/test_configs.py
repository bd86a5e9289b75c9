from __future__ import annotations

from schemas.events import ConfigChanged, JoinRequested, LeaveRequested
from transcribe.configs import MeetingConfig, apply_command


def test_join_sets_and_config_changes_update_only_what_they_name() -> None:
    configs: dict[str, MeetingConfig] = {}
    apply_command(configs, JoinRequested(tenant_id="t", meeting_id="m", platform="zoom",
                                         native_meeting_id="1", bot_name="b", language="de"))
    assert configs["m"] == MeetingConfig("de", "transcribe")
    apply_command(configs, ConfigChanged(tenant_id="t", meeting_id="m", task="translate"))
    assert configs["m"] == MeetingConfig("de", "translate")
    apply_command(configs, ConfigChanged(tenant_id="t", meeting_id="m", language="fr"))
    assert configs["m"] == MeetingConfig("fr", "translate")
    apply_command(configs, LeaveRequested(tenant_id="t", meeting_id="m"))
    assert configs["m"] == MeetingConfig("fr", "translate")


def test_config_for_a_meeting_without_join_starts_from_defaults() -> None:
    configs: dict[str, MeetingConfig] = {}
    apply_command(configs, ConfigChanged(tenant_id="t", meeting_id="x", language="es"))
    assert configs["x"] == MeetingConfig("es", "transcribe")
