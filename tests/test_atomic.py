"""Run files and provenance are written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from baselines.io import atomic
from baselines.io.atomic import atomic_write_text


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


def test_new_files_follow_the_umask_like_a_plain_open(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        target = atomic_write_text(tmp_path / "run.txt", "x\n")
        plain = tmp_path / "plain.txt"
        plain.write_text("x\n")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o644


def test_a_full_disk_names_the_path_and_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    target = tmp_path / "run.txt"
    atomic_write_text(target, "complete old run\n")

    real_open = Path.open

    def full_disk(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        handle = real_open(self, *args, **kwargs)  # type: ignore[arg-type]
        if self.name.endswith(".tmp"):
            handle.write(b"partial")  # the write itself fails half way

            def fail(*_: object) -> None:
                raise OSError(errno.ENOSPC, "No space left on device")

            handle.write = fail  # type: ignore[method-assign]
        return handle

    monkeypatch.setattr(Path, "open", full_disk)
    with pytest.raises(OSError, match=rf"cannot write {target}: No space left on device") as caught:
        atomic_write_text(target, "new run\n")
    assert caught.value.errno == errno.ENOSPC
    assert target.read_text() == "complete old run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.txt"]


def test_a_read_only_folder_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def read_only(*args: object, **kwargs: object) -> None:  # what mkstemp meets on a read-only mount
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", read_only)
    with pytest.raises(OSError, match=rf"cannot write {tmp_path / 'run.txt'}: Read-only file system"):
        atomic_write_text(tmp_path / "run.txt", "x\n")
