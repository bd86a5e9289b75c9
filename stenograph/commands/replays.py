"""Asking for a replay, shared by the API and the CLI: validate, dedupe, snapshot the audio ranges.

Everything is checked before anything is read or written: options first, then the meeting,
then its stored audio. The replay covers the audio stored at the moment it is asked for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from stenograph.readmodel import ReadStore
from stenograph.schemas import (
    COMMANDS,
    HUB_MODELS,
    PACKAGED_MODELS,
    AudioRange,
    ReplayRequested,
    RunState,
    StenographError,
    Task,
    TopicNames,
    codec,
    english_only,
    key_of,
    language_problem,
)

TASKS = tuple(str(t) for t in Task)
ACTIVE_RUN_STATES = (RunState.REQUESTED, RunState.RUNNING)


class ReplayRefused(StenographError):
    """A replay that cannot be started; `field` names the bad input when there is one."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidReplay(ReplayRefused):
    status = 422


class MeetingNotFound(ReplayRefused):
    status = 404


class NoStoredAudio(ReplayRefused):
    status = 409


class AudioExpired(ReplayRefused):
    status = 410


def validate_options(model: str, language: str | None, task: str) -> None:
    """Pure: refuse unknown models, languages and tasks before anything is read."""
    is_dir_model = bool(model) and (Path(model) / "model.bin").is_file()
    if model not in PACKAGED_MODELS and model not in HUB_MODELS and not is_dir_model:
        raise InvalidReplay(
            f"unknown model {model!r}: use {', '.join(PACKAGED_MODELS)}, a hub model name, "
            "or a directory holding a CTranslate2 model", "model")
    if task not in TASKS:
        raise InvalidReplay(f"task must be one of {', '.join(TASKS)}", "task")
    if language is not None and (problem := language_problem(language, model)) is not None:
        raise InvalidReplay(problem, "language")
    if english_only(model) and task == "translate":
        raise InvalidReplay(f"{model} is English-only and cannot translate", "task")


def run_id(meeting_id: str, model: str, language: str | None, task: str, generation: int) -> str:
    """Deterministic: two requests racing for the same new run name the same run, not two."""
    digest = hashlib.sha256(f"{meeting_id}|{model}|{language}|{task}|{generation}".encode())
    return f"r-{digest.hexdigest()[:12]}"


@dataclass(frozen=True)
class ReplayTicket:
    run: dict[str, Any]
    meeting_id: str
    existing: bool  # an equal run was already in progress


async def request_replay(
    *, store: ReadStore, producer: AIOKafkaProducer, offsets: AIOKafkaConsumer, topics: TopicNames,
    tenant: str, platform: str, native_meeting_id: str, model: str, language: str | None, task: str,
) -> ReplayTicket:
    validate_options(model, language, task)
    meeting_id = await store.resolve(tenant, platform, native_meeting_id)
    if meeting_id is None:
        raise MeetingNotFound(f"no meeting {platform}/{native_meeting_id}")
    same = [r for r in await store.runs(tenant, meeting_id)
            if (r["model"], r.get("language"), r.get("task")) == (model, language, task)]
    for run in same:
        if run["state"] in ACTIVE_RUN_STATES:
            return ReplayTicket(run, meeting_id, existing=True)
    index = await store.audio_index(tenant, meeting_id)
    if not index:
        raise NoStoredAudio(f"meeting {platform}/{native_meeting_id} has no stored audio")
    ranges = []
    for session_id, entry in sorted(index.items(), key=lambda kv: kv[1]["started_at_ns"]):
        tp = TopicPartition(entry["topic"], entry["partition"])
        earliest = (await offsets.beginning_offsets([tp]))[tp]
        if earliest > entry["first_offset"]:
            raise AudioExpired(
                f"the audio of {platform}/{native_meeting_id} is past the topic's retention")
        last = entry.get("last_offset")
        if last is None:  # still capturing: what is stored now
            last = (await offsets.end_offsets([tp]))[tp] - 1
        ranges.append(AudioRange(session_id=session_id, topic=entry["topic"],
                                 partition=entry["partition"], first_offset=entry["first_offset"],
                                 last_offset=last))
    command = ReplayRequested(
        tenant_id=tenant, meeting_id=meeting_id, run_id=run_id(meeting_id, model, language, task, len(same)),
        model=model,
        language=language, task=task, ranges=tuple(ranges),
    )
    await producer.send_and_wait(topics.commands, codec(COMMANDS).encode(command), key=key_of(command))
    run = {"run_id": command.run_id, "state": RunState.REQUESTED.value, "model": model,
           "language": language, "task": task, "progress": 0.0, "eta_s": None,
           "audio_s": 0.0, "segments": 0, "error": None, "created_ns": command.event_time_ns,
           "updated_ns": command.event_time_ns}
    return ReplayTicket(run, meeting_id, existing=False)
