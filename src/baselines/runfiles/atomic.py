"""Atomic file writes: a reader sees the old file or the whole new one, never a partial one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
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
