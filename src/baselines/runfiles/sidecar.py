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
from baselines.runfiles.atomic import atomic_write_bytes

SIDECAR_SUFFIX = ".raw_scores.npz"
_RESERVED = frozenset({"ids", "labels", "scores", "run_sha256"})


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
    from baselines.runfiles.provenance import sha256_file

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


def read_sidecar(path: str | Path, run_path: str | Path | None = None) -> ScoreSidecar:
    """Reads a sidecar; with run_path, checks that it was written with that very run file.

    Raises:
        FormatError: Not a sidecar, inconsistent shapes, or written for another version of the run.
    """
    from baselines.runfiles.provenance import sha256_file

    path = Path(path)
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
