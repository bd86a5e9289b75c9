"""Per-meeting transcription settings from the commands topic (JoinRequested, ConfigChanged).

Every worker reads every commands partition (they are few and small): a meeting's audio
partition and its commands partition need not belong to the same worker.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from schemas.events import ConfigChanged, JoinRequested, MeetingErased
from schemas.topics import COMMANDS
from stenograph.feeds import TableFeed


@dataclass(frozen=True)
class MeetingConfig:
    language: str | None = None  # None: detect
    task: str = "transcribe"
    erased: bool = False  # erased meetings are never transcribed again, live or settled


def apply_command(configs: dict[str, MeetingConfig], command: object) -> None:
    """Pure: fold one command into the table; a change applies from the next chunk on."""
    if isinstance(command, MeetingErased):
        configs[command.meeting_id] = MeetingConfig(erased=True)
    elif configs.get(getattr(command, "meeting_id", ""), MeetingConfig()).erased:
        return  # nothing brings an erased meeting back
    elif isinstance(command, JoinRequested):
        configs[command.meeting_id] = MeetingConfig(command.language, command.task)
    elif isinstance(command, ConfigChanged):
        current = configs.get(command.meeting_id, MeetingConfig())
        if command.language is not None:
            current = replace(current, language=command.language)
        if command.task is not None:
            current = replace(current, task=command.task)
        configs[command.meeting_id] = current


class ConfigFeed(TableFeed):
    """Keeps `configs` current; `ready` is set once the topic has been read to its end."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.configs: dict[str, MeetingConfig] = {}
        super().__init__(bootstrap, topic, COMMANDS, lambda c: apply_command(self.configs, c))

    def get(self, meeting_id: str) -> MeetingConfig:
        return self.configs.get(meeting_id, MeetingConfig())
