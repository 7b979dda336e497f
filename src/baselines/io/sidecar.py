"""Score sidecars: the per-item raw scores behind a run file, written beside it by `predict`.

A run file keeps only decisions (a concept set, one answer); an ensemble of several runs fuses better
from the scores behind them (a mean of probabilities instead of a vote). With
`callbacks.run_file_writer.sidecar=true` the writer stores them in `<run file>.raw_scores.npz`:

- `ids`: item ids in run-file order; `labels`: the score vocabulary (CUIs, answers);
- `scores`: (items, labels) float32, e.g. the probability of every CUI or the answer distribution;
- `run_sha256`: the run file they were written with (a sidecar of an edited run is refused);
- optional per-label extras a module adds, e.g. the concept model's tuned `thresholds`.

A compressed .npz rather than JSONL: a concept vocabulary has thousands of labels, and a float32
matrix compresses to a fraction of their decimal text and loads in one call, without pickle (string
arrays are stored as fixed-width unicode). Its path and sha256 go into the run's provenance JSON.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from baselines.errors import FormatError, Problem
from baselines.io.atomic import atomic_write_bytes
from baselines.io.hashes import sha256_file
from baselines.io.npy import npy_bytes, npy_header

SIDECAR_SUFFIX = ".raw_scores.npz"
_RESERVED = frozenset({"ids", "labels", "scores", "run_sha256"})
MAX_SIDECAR_BYTES = 1 << 30
"""The most a sidecar's arrays may take once loaded (1 GiB; a real concept sidecar, 3,500 test images x 3,000
CUIs in float32, takes 42 MB). Checked from the .npy headers inside the .npz before anything is decompressed:
`baselines ensemble --max-sidecar-bytes` raises it."""


def sidecar_path(run_path: str | Path) -> Path:
    run_path = Path(run_path)
    return run_path.with_name(run_path.name + SIDECAR_SUFFIX)


@dataclass
class ScoreSidecar:
    """Attributes:
    ids: Item ids, one per row of scores.
    labels: What each column scores.
    scores: (len(ids), len(labels)) raw scores.
    extras: Per-label arrays a module stored beside them (e.g. `thresholds`).
    path: The file they were read from, if any.
    """

    ids: list[str]
    labels: list[str]
    scores: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None

    def rows(self) -> dict[str, np.ndarray]:
        return {item: self.scores[i] for i, item in enumerate(self.ids)}


def write_sidecar(
    run_path: str | Path,
    ids: Sequence[str],
    scores: np.ndarray,
    labels: Sequence[str],
    extras: Mapping[str, np.ndarray] | None = None,
    run_sha256: str | None = None,
    to: str | Path | None = None,
) -> Path:
    """Writes `<run file>.raw_scores.npz` atomically (temporary file + rename) and returns its path.

    Args:
        run_sha256: The run file's sha256 when it is not in place yet (the writer puts the run file in
            place last); by default the sha256 of the file at run_path.
        to: Write here instead (a staging file the writer renames into place).
    """
    scores = np.asarray(scores, np.float32)
    if scores.shape != (len(ids), len(labels)):
        raise ValueError(f"scores of shape {scores.shape}; expected ({len(ids)} items, {len(labels)} labels)")
    clash = _RESERVED & set(extras or {})
    if clash:
        raise ValueError(f"sidecar extras may not be called {', '.join(sorted(clash))}")
    path = Path(to) if to is not None else sidecar_path(run_path)
    arrays: dict[str, np.ndarray] = {key: np.asarray(value) for key, value in (extras or {}).items()}
    arrays.update(
        ids=np.array(list(ids), dtype=str),
        labels=np.array(list(labels), dtype=str),
        scores=scores,
        run_sha256=np.array(run_sha256 or sha256_file(run_path)),
    )
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def check_sidecar_header(path: str | Path, max_bytes: int = MAX_SIDECAR_BYTES) -> dict[str, tuple[tuple, np.dtype]]:
    """The shape and dtype of every array of a sidecar, read from the .npy headers alone (nothing decompressed),
    after checking them: the four arrays present with the dtypes and shapes a sidecar has, no object array, each
    header matching its member's stored size, and all of them within max_bytes once loaded.

    Raises:
        FormatError: Naming the file, the array and what is wrong (or the limit and how to raise it).
    """
    import zipfile

    path = Path(path)

    def refuse(message: str) -> FormatError:
        return FormatError([Problem(str(path), None, f"not a usable score sidecar: {message}")])

    arrays: dict[str, tuple[tuple, np.dtype]] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if not member.filename.endswith(".npy"):
                    raise refuse(f"{member.filename!r} is not a .npy array")
                with archive.open(member) as handle:
                    shape, dtype, offset = npy_header(handle)  # type: ignore[arg-type]
                name = member.filename.removesuffix(".npy")
                if dtype.hasobject:
                    raise refuse(f"array {name!r} holds Python objects (dtype {dtype})")
                size = npy_bytes(shape, dtype)
                if size + offset != member.file_size:
                    raise refuse(
                        f"array {name!r}: its header claims {shape} {dtype} ({size:,} bytes), its data hold "
                        f"{member.file_size - offset:,}"
                    )
                total += size
                if total > max_bytes:
                    raise refuse(
                        f"its arrays take more than {max_bytes:,} bytes once loaded (array {name!r}: {shape} {dtype}), "
                        "the cap on a sidecar: raise it with --max-sidecar-bytes for a real one"
                    )
                arrays[name] = (tuple(shape), dtype)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        if isinstance(exc, FormatError):
            raise
        raise refuse(f"not an .npz archive ({exc})") from None
    missing = sorted(_RESERVED - set(arrays))
    if missing:
        raise refuse(f"no {', '.join(missing)}")
    (ids, ids_type), (labels, labels_type) = arrays["ids"], arrays["labels"]
    scores, scores_type = arrays["scores"]
    if len(ids) != 1 or len(labels) != 1 or ids_type.kind != "U" or labels_type.kind != "U":
        raise refuse(f"ids {ids} {ids_type} and labels {labels} {labels_type} must be 1-D arrays of text")
    if scores != (ids[0], labels[0]) or scores_type.kind != "f":
        raise refuse(f"scores {scores} {scores_type} for {ids[0]} ids and {labels[0]} labels: expected a float matrix")
    return arrays


def read_sidecar(
    path: str | Path, run_path: str | Path | None = None, max_bytes: int = MAX_SIDECAR_BYTES
) -> ScoreSidecar:
    """Reads a sidecar; with run_path, checks that it was written with that very run file. Its headers are
    checked first (`check_sidecar_header`): a small file that would decompress into gigabytes is refused unread.

    Raises:
        FormatError: Not a sidecar, inconsistent shapes, over max_bytes, or written for another version of the run.
    """
    path = Path(path)
    check_sidecar_header(path, max_bytes)
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise FormatError([Problem(str(path), None, f"not a score sidecar (.npz): {exc}")]) from None
    missing = sorted(_RESERVED - set(contents))
    if missing:
        raise FormatError([Problem(str(path), None, f"not a score sidecar: no {', '.join(missing)}")])
    ids, labels, scores = (contents.pop(key) for key in ("ids", "labels", "scores"))
    recorded = str(contents.pop("run_sha256"))
    if scores.shape != (len(ids), len(labels)):
        raise FormatError(
            [Problem(str(path), None, f"scores of shape {scores.shape} for {len(ids)} ids and {len(labels)} labels")]
        )
    if run_path is not None and sha256_file(run_path) != recorded:
        raise FormatError(
            [
                Problem(
                    str(path),
                    None,
                    f"written for another version of {run_path} (its sha256 differs): the run was edited or "
                    "replaced after prediction; remove the stale sidecar (the ensemble then votes)",
                )
            ]
        )
    return ScoreSidecar([str(i) for i in ids], [str(x) for x in labels], scores.astype(np.float32), contents, path)
