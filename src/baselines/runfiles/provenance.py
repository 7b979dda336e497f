"""Provenance JSON written next to every run file: what produced it, exactly."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import baselines
from baselines.io.atomic import atomic_write_text
from baselines.io.hashes import sha256_file


def git_sha(start: Path | None = None) -> str | None:
    """The commit of the source tree the package runs from, or None outside a git checkout."""
    where = start or Path(baselines.__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _torch_version() -> str | None:
    """The version of the torch that made the run (`torch.__version__`, CUDA tag included), or None when this
    process never imported torch (an ensemble fuses text files: importing torch for this would cost seconds)."""
    torch = sys.modules.get("torch")
    return str(torch.__version__) if torch is not None else None


def dataset_fingerprint(paths: Iterable[str | Path]) -> str:
    """A sha256 over the given files (annotations, image lists) and, for folders, their file names and sizes.

    Image bytes are not hashed (a 4032x3024 collection would take minutes); names plus sizes catch
    a swapped or re-encoded set while staying fast.
    """
    digest = hashlib.sha256()
    for raw in sorted(str(p) for p in paths if p is not None):
        path = Path(raw)
        digest.update(path.name.encode())
        if path.is_file():
            digest.update(sha256_file(path).encode())
        elif path.is_dir():
            for item in sorted(p for p in path.rglob("*") if p.is_file()):
                digest.update(f"{item.relative_to(path)}:{item.stat().st_size}".encode())
    return digest.hexdigest()


def content_sha256(path: str | Path) -> str:
    """sha256 of a file (as `sha256sum` prints it), or of a folder's files: relative names and contents."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{item.relative_to(path)}\0{sha256_file(item)}\n".encode())
    return digest.hexdigest()


def scores_path(run_path: str | Path) -> Path:
    run_path = Path(run_path)
    return run_path.with_name(run_path.name + ".scores.json")


def provenance_path(run_path: str | Path) -> Path:
    run_path = Path(run_path)
    return run_path.with_name(run_path.name + ".provenance.json")


def write_provenance(
    run_path: str | Path,
    config: Mapping[str, Any] | None,
    seed: int | None,
    checkpoint: str | Path | None,
    dataset_sha: str | None,
    extra: Mapping[str, Any] | None = None,
    run_sha256: str | None = None,
    to: str | Path | None = None,
) -> Path:
    """Writes `<run file>.provenance.json` atomically and returns its path.

    Args:
        run_sha256: The run file's sha256 when it is not in place yet (the writer puts it in place last);
            by default the sha256 of the file at run_path.
        to: Write here instead (a staging file the writer renames into place).
    """
    run_path = Path(run_path)
    if run_sha256 is None and run_path.exists():
        run_sha256 = sha256_file(run_path)
    record: dict[str, Any] = {
        "run_file": run_path.name,
        "run_file_sha256": run_sha256,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "package_version": baselines.__version__,
        "git_sha": git_sha(),
        "torch_version": _torch_version(),
        "python": platform.python_version(),
        "seed": seed,
        "checkpoint": str(checkpoint) if checkpoint else None,
        "checkpoint_sha256": sha256_file(checkpoint) if checkpoint and Path(checkpoint).is_file() else None,
        "dataset_fingerprint": dataset_sha,
        "config": dict(config) if config is not None else None,
    }
    if extra:
        record.update(extra)
    text = json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"
    return atomic_write_text(to if to is not None else provenance_path(run_path), text)
