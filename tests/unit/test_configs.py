from __future__ import annotations

from stenograph.schemas.events import ConfigChanged, JoinRequested, LeaveRequested, MeetingErased
from stenograph.transcribe.configs import MeetingConfig, apply_command, config_at, next_change


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


def test_settings_in_effect_at_a_capture_time() -> None:
    configs: dict[str, MeetingConfig] = {}
    history: dict[str, list[tuple[int, MeetingConfig]]] = {}
    head = {"tenant_id": "t", "meeting_id": "m"}
    join = JoinRequested(**head, event_time_ns=100, platform="zoom", native_meeting_id="1234567890",
                         bot_name="b", language="en")
    apply_command(configs, join, history)
    apply_command(configs, ConfigChanged(**head, event_time_ns=500, language="de"), history)
    h = history["m"]
    assert config_at(h, 50).language == "en"  # a bot's settings hold from the meeting's start
    assert config_at(h, 499).language == "en" and config_at(h, 500).language == "de"
    assert next_change(h, 100) == 500 and next_change(h, 500) is None
    later: dict[str, list[tuple[int, MeetingConfig]]] = {}
    apply_command({}, ConfigChanged(tenant_id="t", meeting_id="x", event_time_ns=700, language="fr"), later)
    assert config_at(later["x"], 699).language is None and config_at(later["x"], 700).language == "fr"
    apply_command(configs, MeetingErased(**head, event_time_ns=900, platform="zoom",
                                         native_meeting_id="1234567890"), history)
    assert config_at(h, 200).erased  # erased is erased whenever the audio was spoken
