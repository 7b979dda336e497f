"""Atomic file writes: a reader sees the old file or the whole new one, never a partial one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_path(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yields a temporary path in path's folder; on success it replaces path in one rename.

    The new file gets the permissions a plain `open(path, "w")` would give (0666 less the umask;
    `mkstemp` alone makes it 0600). On failure the temporary file is removed and path is untouched;
    an OS error (a full disk, a read-only folder) names path.

    Raises:
        FileExistsError: If path exists and overwrite is False.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not overwrite and path.exists():
            raise FileExistsError(f"{path} exists; pass overwrite=True (or +overwrite=true) to replace it")
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except FileExistsError:
        raise
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
    temporary = Path(name)
    try:
        os.chmod(temporary, 0o666 & ~_umask())
        yield temporary
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        if str(path) in str(exc):
            raise
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str, overwrite: bool = True) -> Path:
    """Writes text to path through a temporary file in the same folder and a rename.

    Args:
        path: Destination file; its folder is created if missing.
        text: The full contents.
        overwrite: If False and path exists, nothing is written.

    Raises:
        FileExistsError: If path exists and overwrite is False.
        OSError: Naming path, if it cannot be written (e.g. ENOSPC, a read-only folder).
    """
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite)  # no newline translation on any platform


def atomic_write_bytes(path: str | Path, data: bytes, overwrite: bool = True) -> Path:
    """As atomic_write_text, for bytes (PNG pictures, encoded JSON)."""
    with atomic_path(path, overwrite) as temporary, temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path)


@contextlib.contextmanager
def atomic_folder(path: str | Path, replace: Callable[[Path], str | None] | None = None) -> Iterator[Path]:
    """Yields an empty temporary folder beside path; on success it becomes path in one rename.

    A reader sees no folder or the whole new one. An existing path is replaced only when `replace` says yes
    (returns None for it), in two renames (the old folder moved aside, the new one moved in, the old one removed):
    between them path is briefly missing, never partial. On failure the temporary folder is removed and path is
    untouched.

    Args:
        path: The folder to create (its parent is created if missing).
        replace: For an existing path: None if it may be replaced, else why not. Without it an existing path is
            never replaced.

    Raises:
        FileExistsError: Naming path and why, if it exists and may not be replaced.
        OSError: Naming path, if it cannot be written.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        why = replace(path) if replace is not None and path.is_dir() and not path.is_symlink() else "it exists"
        if why is not None:
            raise FileExistsError(f"{path}: not replaced: {why}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        os.chmod(temporary, 0o777 & ~_umask())
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        yield temporary
        for item in temporary.iterdir():
            if item.is_file():
                with item.open("rb") as handle:
                    os.fsync(handle.fileno())
        if path.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, aside / path.name)
            os.replace(temporary, path)
            shutil.rmtree(aside)
        else:
            os.rename(temporary, path)
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        if str(path) in str(exc):
            raise
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
