"""Per-meeting transcription settings from the commands topic (JoinRequested, ConfigChanged).

Every worker reads every commands partition (they are few and small): a meeting's audio
partition and its commands partition need not belong to the same worker.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from stenograph.runtime import TableFeed
from stenograph.schemas import COMMANDS, ConfigChanged, JoinRequested, MeetingErased


@dataclass(frozen=True)
class MeetingConfig:
    language: str | None = None  # None: detect
    task: str = "transcribe"
    erased: bool = False  # erased meetings are never transcribed again, live or settled


def apply_command(configs: dict[str, MeetingConfig], command: object,
                  history: dict[str, list[tuple[int, MeetingConfig]]] | None = None) -> None:
    """Pure: fold one command into the table (and each meeting's history of settings by the
    time they were asked for); a change applies from the next chunk on."""
    meeting_id = getattr(command, "meeting_id", "")
    if isinstance(command, MeetingErased):
        configs[meeting_id] = MeetingConfig(erased=True)
    elif configs.get(meeting_id, MeetingConfig()).erased:
        return  # nothing brings an erased meeting back
    elif isinstance(command, JoinRequested):
        configs[meeting_id] = MeetingConfig(command.language, command.task)
    elif isinstance(command, ConfigChanged):
        current = configs.get(meeting_id, MeetingConfig())
        if command.language is not None:
            current = replace(current, language=command.language)
        if command.task is not None:
            current = replace(current, task=command.task)
        configs[meeting_id] = current
    else:
        return
    if history is not None:  # a bot's settings hold from the meeting's start, changes from when asked
        at = 0 if isinstance(command, JoinRequested) else command.event_time_ns
        entries = history.setdefault(meeting_id, [])
        entries.append((at, configs[meeting_id]))
        entries.sort(key=lambda e: e[0])  # stable: changes asked at the same time keep their order


def config_at(history: list[tuple[int, MeetingConfig]], time_ns: int) -> MeetingConfig:
    """The settings in effect for audio captured at time_ns (an erased meeting is erased
    whenever its audio was spoken)."""
    if history and history[-1][1].erased:
        return history[-1][1]
    current = MeetingConfig()
    for at, config in history:
        if at > time_ns:
            break
        current = config
    return current


def next_change(history: list[tuple[int, MeetingConfig]], after_ns: int) -> int | None:
    """When the settings next changed after after_ns, if they did."""
    return next((at for at, _ in history if at > after_ns), None)


class ConfigFeed(TableFeed):
    """Keeps `configs` current; `ready` is set once the topic has been read to its end."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.configs: dict[str, MeetingConfig] = {}
        self.history: dict[str, list[tuple[int, MeetingConfig]]] = {}
        super().__init__(bootstrap, topic, COMMANDS,
                         lambda c: apply_command(self.configs, c, self.history))

    def get(self, meeting_id: str) -> MeetingConfig:
        return self.configs.get(meeting_id, MeetingConfig())

    def at(self, meeting_id: str, time_ns: int) -> MeetingConfig:
        return config_at(self.history.get(meeting_id, []), time_ns)

    def next_change(self, meeting_id: str, after_ns: int) -> int | None:
        return next_change(self.history.get(meeting_id, []), after_ns)
