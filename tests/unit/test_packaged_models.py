"""transcribe/packaged_models.py: joining a model split over two packages, once, atomically."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from stenograph.transcribe.packaged_models import SUPPORT_FILES, join_parts, models_cache


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def layout(tmp_path: Path) -> tuple[list[Path], Path, Path]:
    rng = random.Random(1)
    part1 = write(tmp_path / "pkg1" / "data" / "model.bin.part1", rng.randbytes(70_001))
    part2 = write(tmp_path / "pkg2" / "data" / "model.bin.part2", rng.randbytes(33_333))
    support = tmp_path / "pkg1" / "data"
    for name in SUPPORT_FILES:
        write(support / name, f"{name} contents\n".encode())
    return [part1, part2], support, tmp_path / "cache" / "models" / "whisper-base"


def test_join_is_byte_exact(layout: tuple[list[Path], Path, Path]) -> None:
    parts, support, target = layout
    out = join_parts(parts, support, target)
    assert out == target
    assert (target / "model.bin").read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()
    for name in SUPPORT_FILES:
        assert (target / name).read_bytes() == (support / name).read_bytes()
    assert (target / ".complete").is_file()


def test_join_leaves_no_temporary_directory(layout: tuple[list[Path], Path, Path]) -> None:
    parts, support, target = layout
    join_parts(parts, support, target)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert sorted(p.name for p in target.iterdir()) == sorted([*SUPPORT_FILES, "model.bin", ".complete"])


def test_join_part_order_matters(layout: tuple[list[Path], Path, Path]) -> None:
    parts, support, target = layout
    join_parts(parts[::-1], support, target)
    assert (target / "model.bin").read_bytes() == parts[1].read_bytes() + parts[0].read_bytes()


def test_join_is_idempotent(layout: tuple[list[Path], Path, Path]) -> None:
    parts, support, target = layout
    join_parts(parts, support, target)
    model = target / "model.bin"
    old_ns = model.stat().st_mtime_ns - 10**9  # set back, so a rewrite would be visible
    os.utime(model, ns=(old_ns, old_ns))
    inode = model.stat().st_ino
    assert join_parts(parts, support, target) == target
    assert model.stat().st_mtime_ns == old_ns
    assert model.stat().st_ino == inode
    assert model.read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()


def test_changed_part_size_rebuilds(layout: tuple[list[Path], Path, Path]) -> None:
    parts, support, target = layout
    join_parts(parts, support, target)
    stamp = (target / ".complete").read_text()
    parts[1].write_bytes(parts[1].read_bytes() + b"\x07" * 10)
    join_parts(parts, support, target)
    assert (target / "model.bin").read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()
    assert (target / ".complete").read_text() != stamp
    # and the rebuilt result is itself kept
    old_ns = (target / "model.bin").stat().st_mtime_ns - 10**9
    os.utime(target / "model.bin", ns=(old_ns, old_ns))
    join_parts(parts, support, target)
    assert (target / "model.bin").stat().st_mtime_ns == old_ns


def test_missing_stamp_rebuilds(layout: tuple[list[Path], Path, Path]) -> None:
    parts, support, target = layout
    join_parts(parts, support, target)
    (target / ".complete").unlink()
    (target / "model.bin").write_bytes(b"half-written")
    join_parts(parts, support, target)
    assert (target / "model.bin").read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()


def test_stale_target_contents_are_replaced(layout: tuple[list[Path], Path, Path]) -> None:
    parts, support, target = layout
    write(target / "leftover.txt", b"old")
    join_parts(parts, support, target)
    assert not (target / "leftover.txt").exists()


def test_missing_support_files_are_skipped(tmp_path: Path) -> None:
    part = write(tmp_path / "p" / "model.bin.part1", b"abc")
    support = tmp_path / "support"
    write(support / "config.json", b"{}")
    target = tmp_path / "out"
    join_parts([part], support, target)
    assert (target / "model.bin").read_bytes() == b"abc"
    assert (target / "config.json").read_bytes() == b"{}"
    assert not (target / "tokenizer.json").exists()


def test_models_cache_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STENOGRAPH_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models_cache() == tmp_path / "explicit" / "models"
    monkeypatch.delenv("STENOGRAPH_CACHE_DIR")
    assert models_cache() == tmp_path / "xdg" / "stenograph" / "models"
