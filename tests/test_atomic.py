"""Run files and provenance are written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from baselines.runfiles import atomic
from baselines.runfiles.atomic import atomic_write_text


def test_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "run.txt"
    atomic_write_text(target, "old\n")
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["run.txt"]


def test_refuses_to_overwrite_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "run.txt"
    atomic_write_text(target, "first\n")
    with pytest.raises(FileExistsError, match="overwrite"):
        atomic_write_text(target, "second\n", overwrite=False)
    assert target.read_text() == "first\n"


def test_failure_mid_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "run.txt"
    atomic_write_text(target, "complete old run\n")

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "partial new run\n")
    assert target.read_text() == "complete old run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.txt"]
