"""stenograph/replays.py: option validation (before anything is read) and deterministic run ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stenograph.commands.replays import (
    InvalidReplay,
    ReplayRefused,
    run_id,
    validate_options,
)
from stenograph.schemas import whisper_languages


def refused_field(model: str, language: str | None, task: str) -> str | None:
    with pytest.raises(InvalidReplay) as info:
        validate_options(model, language, task)
    assert isinstance(info.value, ReplayRefused)
    assert info.value.status == 422
    assert str(info.value)
    return info.value.field


@pytest.mark.parametrize(
    ("model", "language", "task"),
    [
        ("tiny.en", "en", "transcribe"),
        ("tiny.en", None, "transcribe"),
        ("base", "de", "translate"),
        ("base", None, "transcribe"),
        ("base", "fr", "transcribe"),
        ("large-v3", "ja", "translate"),
        ("small.en", "en", "transcribe"),
        ("distil-large-v3", None, "transcribe"),
    ],
)
def test_valid_options_pass(model: str, language: str | None, task: str) -> None:
    validate_options(model, language, task)


def test_model_directory_with_model_bin_passes(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"\0")
    validate_options(str(tmp_path), "de", "translate")
    validate_options(str(tmp_path), None, "transcribe")


@pytest.mark.parametrize("model", ["tiny-en", "gpt-4", "", "Base", "whisper-base", "/nonexistent/dir"])
def test_unknown_model(model: str) -> None:
    assert refused_field(model, "en", "transcribe") == "model"


def test_directory_without_model_bin_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert refused_field(str(tmp_path), None, "transcribe") == "model"


def test_a_model_bin_file_itself_is_not_a_model_directory(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"\0")
    assert refused_field(str(tmp_path / "model.bin"), None, "transcribe") == "model"


@pytest.mark.parametrize("language", ["xx", "english", "EN", "", "en-US", "zz"])
def test_unknown_language(language: str) -> None:
    assert refused_field("base", language, "transcribe") == "language"


@pytest.mark.parametrize("language", ["de", "fr", "ja"])
def test_english_only_model_with_another_language(language: str) -> None:
    assert refused_field("tiny.en", language, "transcribe") == "language"
    assert refused_field("small.en", language, "transcribe") == "language"


@pytest.mark.parametrize("language", ["en", None])
def test_english_only_model_cannot_translate(language: str | None) -> None:
    assert refused_field("tiny.en", language, "translate") == "task"


@pytest.mark.parametrize("task", ["", "Transcribe", "summarize", "translate "])
def test_bad_task(task: str) -> None:
    assert refused_field("base", "en", task) == "task"


def test_model_is_checked_before_language_and_task() -> None:
    assert refused_field("nope", "xx", "bogus") == "model"


def test_languages_are_whisper_codes() -> None:
    langs = whisper_languages()
    assert {"en", "de", "fr", "ja", "zh"} <= langs
    assert "english" not in langs


# run_id


def test_run_id_is_deterministic_and_formatted() -> None:
    a = run_id("m-1", "base", "de", "translate", 0)
    assert a == run_id("m-1", "base", "de", "translate", 0)
    assert re.fullmatch(r"r-[0-9a-f]{12}", a)


@pytest.mark.parametrize(
    "changed",
    [
        ("m-2", "base", "de", "translate", 0),
        ("m-1", "tiny.en", "de", "translate", 0),
        ("m-1", "base", "fr", "translate", 0),
        ("m-1", "base", None, "translate", 0),
        ("m-1", "base", "de", "transcribe", 0),
        ("m-1", "base", "de", "translate", 1),
    ],
)
def test_run_id_differs_by_each_input(changed: tuple[str, str, str | None, str, int]) -> None:
    assert run_id(*changed) != run_id("m-1", "base", "de", "translate", 0)


def test_run_ids_over_generations_are_distinct() -> None:
    ids = {run_id("m-1", "base", None, "transcribe", g) for g in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"r-[0-9a-f]{12}", i) for i in ids)
    assert "live" not in ids
