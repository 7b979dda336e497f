"""The prediction-writer callback that turns `predict_step` outputs into one official run file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch.distributed as dist
from lightning.pytorch.callbacks import BasePredictionWriter

from baselines.runfiles.atomic import atomic_write_text
from baselines.runfiles.provenance import write_provenance
from baselines.tasks.base import get_task


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


def _flatten(item: Any) -> list[dict[str, Any]]:
    if isinstance(item, Mapping):
        return [dict(item)]
    return [p for sub in item for p in _flatten(sub)]


class RunFileWriter(BasePredictionWriter):
    """Writes the task's run file (atomically) and its provenance JSON at the end of prediction.

    Args:
        task: Registered task name; its spec formats the run file.
        output_path: Where the run file goes.
        overwrite: Replace an existing run file; otherwise an existing file is an error.
    """

    def __init__(self, task: str, output_path: str, overwrite: bool = False) -> None:
        super().__init__(write_interval="epoch")
        self.task = task
        self.output_path = Path(output_path)
        self.overwrite = overwrite
        self.provenance: dict[str, Any] = {}
        self.written: Path | None = None

    def check_writable(self) -> None:
        """Fails early (before hours of training) if the run file exists and may not be replaced."""
        if self.output_path.exists() and not self.overwrite:
            raise FileExistsError(f"{self.output_path} exists; set overwrite=true to replace it")

    def set_provenance(
        self,
        config: Mapping[str, Any] | None,
        seed: int | None,
        checkpoint: str | None,
        dataset_sha: str | None,
    ) -> None:
        self.provenance = {
            "config": config,
            "seed": seed,
            "checkpoint": checkpoint,
            "dataset_sha": dataset_sha,
        }

    def write_on_epoch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        ordered = gather_predictions(predictions)
        if not trainer.is_global_zero:
            return
        text = get_task(self.task).format_run(ordered)
        self.written = atomic_write_text(self.output_path, text, overwrite=self.overwrite)
        write_provenance(
            self.output_path,
            self.provenance.get("config"),
            self.provenance.get("seed"),
            self.provenance.get("checkpoint"),
            self.provenance.get("dataset_sha"),
            extra={"task": self.task, "num_predictions": len(ordered)},
        )
