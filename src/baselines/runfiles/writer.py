"""The prediction-writer callback that turns `predict_step` outputs into one official run file."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch.distributed as dist
from lightning.pytorch.callbacks import BasePredictionWriter

from baselines.io.atomic import atomic_path, atomic_write_text
from baselines.io.hashes import sha256_file
from baselines.io.sidecar import sidecar_path, write_sidecar
from baselines.runfiles.provenance import provenance_path, scores_path, write_provenance


def gather_predictions(predictions: Sequence[Any]) -> list[dict[str, Any]]:
    """Flattens per-batch lists and, under DDP, collects every rank's predictions on every rank.

    Distributed samplers pad the last batch with repeated samples; duplicates are dropped by
    `index` and the result is in dataset order, so the run file equals a single-process one.
    """
    flat: list[dict[str, Any]] = []
    for item in predictions:
        if isinstance(item, Mapping):
            flat.append(dict(item))
        else:
            flat.extend(_flatten(item))
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        everyone: list[list[dict[str, Any]] | None] = [None] * dist.get_world_size()
        dist.all_gather_object(everyone, flat)
        flat = [p for part in everyone for p in (part or [])]
    unique: dict[int, dict[str, Any]] = {}
    for p in flat:
        unique.setdefault(int(p["index"]), p)
    return [unique[i] for i in sorted(unique)]


def check_unique_ids(predictions: Sequence[Mapping[str, Any]]) -> None:
    """Refuses two predictions with one id: a run file holds one line (or group) per id, so a formatter that
    keys by id would keep one of them without a word.

    Raises:
        ValueError: Naming each repeated id and the dataset positions of its predictions.
    """
    positions: dict[str, list[int]] = {}
    for p in predictions:
        positions.setdefault(str(p["id"]), []).append(int(p["index"]))
    repeated = {i: at for i, at in positions.items() if len(at) > 1}
    if repeated:
        shown = "; ".join(f"{i!r} at dataset positions {at}" for i, at in list(repeated.items())[:10])
        raise ValueError(
            f"{len(repeated)} id(s) predicted more than once, which the run file cannot hold: {shown} "
            "(two input files with one id?)"
        )


def _flatten(item: Any) -> list[dict[str, Any]]:
    if isinstance(item, Mapping):
        return [dict(item)]
    return [p for sub in item for p in _flatten(sub)]


RunFormatter = Callable[[Sequence[Mapping[str, Any]]], str]


def _staging_name(final: Path) -> Path:
    """The hidden file a file is written to until the writer renames it into place."""
    return final.with_name(f".{final.name}.staged")


def _sidecar_info(module: pl.LightningModule) -> dict[str, Any]:
    """The module's description of its raw scores (labels, per-label extras), read when they are written
    (decision thresholds come with the checkpoint's weights)."""
    describe = getattr(module, "score_sidecar_info", None)
    info = describe() if callable(describe) else None
    if not info:
        raise ValueError(
            f"callbacks.run_file_writer.sidecar=true, but {type(module).__name__} has no per-item raw "
            "scores to write (the concept and VQA models have)"
        )
    return dict(info)


class RunFileWriter(BasePredictionWriter):
    """Writes the run file (atomically) and its provenance JSON at the end of prediction.

    The pipeline hands it the task's formatter and the provenance (`prepare`) before predicting, so
    this module knows nothing of tasks.

    With `sidecar`, the per-item raw scores behind the run file (`raw_scores` in each prediction dict, a
    vector over the module's `score_sidecar_info()["labels"]`: concept probabilities, the VQA answer
    distribution) go into `<run file>.raw_scores.npz` (baselines.io.sidecar), for ensembles that
    average scores rather than votes; its path and sha256 are recorded in the provenance.

    The run file appears last, after every file beside it, or not at all: prediction writes it to a
    hidden staging file (`staging_path`), and `commit` writes the score sidecar, the provenance and the
    scores, then renames the staging file into place; if any of those writes fails (a full disk), the
    ones already written are removed. The pipeline calls `commit` after validation and scoring.

    Args:
        output_path: Where the run file goes.
        overwrite: Replace an existing run file; otherwise an existing file is an error.
        sidecar: Also write the score sidecar (only modules with raw scores: concepts, VQA).
    """

    def __init__(self, output_path: str, overwrite: bool = False, sidecar: bool = False) -> None:
        super().__init__(write_interval="epoch")
        self.output_path = Path(output_path)
        self.overwrite = overwrite
        self.sidecar = sidecar
        self.format_run: RunFormatter | None = None
        self.provenance: dict[str, Any] = {}
        self._staged: tuple[str, list[dict[str, Any]], dict[str, Any] | None] | None = None

    @property
    def staging_path(self) -> Path:
        """The hidden file the run is written to until `commit` puts it in place."""
        return _staging_name(self.output_path)

    def check_writable(self) -> None:
        """Fails early (before hours of training) if the run file exists and may not be replaced, or if
        its folder cannot be written (a read-only mount)."""
        if self.output_path.exists() and not self.overwrite:
            raise FileExistsError(f"{self.output_path} exists; set overwrite=true to replace it")
        probe = self.output_path.with_name(f".{self.output_path.name}.probe")
        with atomic_path(probe) as temporary:
            temporary.write_bytes(b"")
        probe.unlink()

    def prepare(self, format_run: RunFormatter, provenance: Mapping[str, Any]) -> None:
        """Sets the task's formatter and what the provenance JSON records (config, seed, checkpoint, ...).

        The run stays in the staging file until `commit` is called (after validation).
        """
        self.format_run = format_run
        self.provenance = dict(provenance)

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.sidecar:
            return
        _sidecar_info(pl_module)  # fails now, not after predicting
        setattr(pl_module, "emit_raw_scores", True)  # noqa: B010 - predictions carry `raw_scores` only when asked

    def write_on_epoch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        if self.format_run is None:
            raise RuntimeError("RunFileWriter.prepare(format_run, provenance) was not called before predicting")
        ordered = gather_predictions(predictions)
        if not trainer.is_global_zero:
            return
        check_unique_ids(ordered)
        text = self.format_run(ordered)
        atomic_write_text(self.staging_path, text)
        self._staged = (text, ordered, _sidecar_info(pl_module) if self.sidecar else None)

    def discard(self) -> None:
        """Drops the staged run (one that failed validation or scoring): nothing of it is left behind."""
        self.staging_path.unlink(missing_ok=True)
        self._staged = None

    def commit(self, scores: Mapping[str, float] | None = None) -> Path:
        """Puts the run file in place with the files beside it (score sidecar, provenance, scores).

        Every file is first written under a hidden staging name; only when all are written are they
        renamed into place, the run file last. A failed write (a full disk) removes the staged files and
        leaves the previous files, if any, as they were.

        Raises:
            OSError: Naming the file that could not be written.
            FileExistsError: If the run file exists and overwrite is False.
        """
        if self._staged is None:
            raise RuntimeError("nothing to commit: the writer has not written a run yet")
        text, ordered, info = self._staged
        run_sha256 = hashlib.sha256(text.encode()).hexdigest()
        staged: list[tuple[Path, Path]] = []  # (staging file, final name), the run file last

        def stage(final: Path) -> Path:
            staging = _staging_name(final)
            staged.append((staging, final))
            return staging

        try:
            if self.output_path.exists() and not self.overwrite:
                raise FileExistsError(f"{self.output_path} exists; set overwrite=true to replace it")
            own = ("config", "seed", "checkpoint", "dataset_sha")
            extra = {k: v for k, v in self.provenance.items() if k not in own}
            if info is not None:
                extra["score_sidecar"] = self._write_sidecar(ordered, dict(info), run_sha256, stage)
            write_provenance(
                self.output_path,
                self.provenance.get("config"),
                self.provenance.get("seed"),
                self.provenance.get("checkpoint"),
                self.provenance.get("dataset_sha"),
                extra={**extra, "num_predictions": len(ordered)},
                run_sha256=run_sha256,
                to=stage(provenance_path(self.output_path)),
            )
            if scores is not None:
                scores_text = json.dumps(dict(scores), indent=2, sort_keys=True) + "\n"
                atomic_write_text(stage(scores_path(self.output_path)), scores_text)
            staged.append((self.staging_path, self.output_path))
            for staging, final in staged:
                try:
                    os.replace(staging, final)
                except OSError as exc:
                    raise OSError(exc.errno, f"cannot write {final}: {exc.strerror or exc}") from exc
        except BaseException:
            for staging, _ in staged:
                staging.unlink(missing_ok=True)
            self.staging_path.unlink(missing_ok=True)
            raise
        self._staged = None
        return self.output_path

    def _write_sidecar(
        self,
        ordered: Sequence[Mapping[str, Any]],
        info: dict[str, Any],
        run_sha256: str,
        stage: Callable[[Path], Path],
    ) -> dict[str, str]:
        labels = [str(label) for label in info.pop("labels")]
        scores = np.stack([np.asarray(p["raw_scores"], np.float32) for p in ordered]) if ordered else None
        path = write_sidecar(
            self.output_path,
            [str(p["id"]) for p in ordered],
            scores if scores is not None else np.zeros((0, len(labels)), np.float32),
            labels,
            {key: np.asarray(value) for key, value in info.items()},
            run_sha256=run_sha256,
            to=stage(sidecar_path(self.output_path)),
        )
        return {"path": sidecar_path(self.output_path).name, "sha256": sha256_file(path)}
