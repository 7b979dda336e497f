"""Small callbacks the default config adds to every run."""

from __future__ import annotations

import logging
import resource
import tempfile
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

log = logging.getLogger("baselines")


class EpochSummary(Callback):
    """Logs one line of metrics per epoch, so batch jobs and CI logs show progress without a TTY."""

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        shown = ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()) if not k.startswith("train/loss_"))
        log.info("epoch %d step %d: %s", trainer.current_epoch, trainer.global_step, shown)


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its children that have ended (data-loader workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuBudget(Callback):
    """Stops training after the epoch that leaves too little CPU time for another one, so that training
    (from the start of fit, validation included) stays within `minutes` of CPU time on any load of the
    machine; a wall-clock limit (`trainer.max_time`) would do less work on a busy machine and stop mid-epoch.

    The next epoch is assumed to cost as much as the costliest one so far. CPU time is counted as
    `cpu_seconds` does: data-loader workers count once they have ended, so use it with `data.loader.num_workers=0`
    (or non-persistent workers) for a strict budget. Add it to a run with
    `+callbacks.cpu_budget._target_=baselines.callbacks.CpuBudget +callbacks.cpu_budget.minutes=8`.

    Args:
        minutes: CPU minutes training may use.
    """

    def __init__(self, minutes: float) -> None:
        if minutes <= 0:
            raise ValueError(f"CpuBudget: minutes must be positive, got {minutes}")
        self.minutes = minutes
        self.start = 0.0
        self.epoch_start = 0.0
        self.costliest = 0.0

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start = cpu_seconds()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.epoch_start = cpu_seconds()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        now = cpu_seconds()
        self.costliest = max(self.costliest, now - self.epoch_start)
        used = now - self.start
        if used + self.costliest > self.minutes * 60:
            log.info(
                "CPU budget: %.1f of %.1f CPU-minutes used after epoch %d (the costliest took %.1f): stopping",
                used / 60,
                self.minutes,
                trainer.current_epoch,
                self.costliest / 60,
            )
            trainer.should_stop = True


class OverlayImages(Callback):
    """Pictures of the model's predictions on the first few validation items, in TensorBoard after each
    validation epoch (tag `val_overlays/<id>`), drawn as `baselines draw` draws a run file: region tasks
    show ground truth and prediction side by side, one colour per class, scaled to `longest` pixels.

    Cheap by design: nothing happens without a TensorBoard logger, and then it predicts `num_images`
    items once per `every_n_epochs`. Tasks whose validation items have no image or volume of their own
    (LMRT topics, SPLL rows) are skipped. If drawing fails, a warning says why and the callback stops;
    training goes on.

    Args:
        task: The registered task (its formatter, validator and drawer are used).
        num_images: Validation items drawn each time.
        every_n_epochs: Draw after every n-th validation epoch.
        min_score: Predicted regions below this confidence are not drawn (each picture says how many).
        longest: Region tasks: the longer side of each image in pixels (a 4032x3024 coral photo is
            scaled down to it).
    """

    def __init__(
        self, task: str, num_images: int = 4, every_n_epochs: int = 1, min_score: float = 0.3, longest: int = 1024
    ) -> None:
        self.task = task
        self.num_images = num_images
        self.every_n_epochs = max(1, every_n_epochs)
        self.min_score = min_score
        self.longest = longest
        self.disabled = False

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        from lightning.pytorch.loggers import TensorBoardLogger

        if trainer.sanity_checking or not trainer.is_global_zero or self.disabled or self.num_images < 1:
            return
        if trainer.current_epoch % self.every_n_epochs:
            return
        tensorboard = next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)
        datamodule = getattr(trainer, "datamodule", None)
        if tensorboard is None or datamodule is None or not hasattr(datamodule, "dataset"):
            return
        try:
            pictures = self.pictures(trainer, pl_module, datamodule.dataset("val"), datamodule.collate_fn)
        except Exception as exc:  # a picture is never worth a failed training run: report and stop drawing
            log.warning(
                "OverlayImages: cannot draw %s validation predictions, no more overlays (%s: %s)",
                self.task,
                type(exc).__name__,
                exc,
            )
            self.disabled = True
            return
        for item, picture in pictures:
            tensorboard.experiment.add_image(
                f"val_overlays/{item}", np.asarray(picture), trainer.global_step, dataformats="HWC"
            )

    def pictures(self, trainer: pl.Trainer, pl_module: pl.LightningModule, dataset: Any, collate: Any) -> list:
        """(id, PIL image) of the first validation items' predictions, with their ground truth where the task's
        drawer reads it from the dataset; empty for items without files."""
        from baselines.tasks import get_task
        from baselines.visual.views import Sources, drawer_for, render

        files = getattr(dataset, "files", None)
        if not files:
            return []
        spec = get_task(self.task)
        count = min(self.num_images, len(dataset))
        batch = trainer.strategy.batch_to_device(collate([dataset[i] for i in range(count)]))
        training = pl_module.training
        pl_module.eval()
        try:
            with torch.no_grad():
                outputs = pl_module.predict_step(batch, 0)
        finally:
            pl_module.train(training)
        with tempfile.TemporaryDirectory() as folder:  # the run-file text, parsed as `baselines draw` parses it
            path = Path(folder) / spec.run_file_name
            path.write_text(spec.format_run(outputs), encoding="utf-8")
            parsed = spec.parse_run(path, None)
        read_truth = drawer_for(spec).dataset_truth
        truth = read_truth(dataset) if read_truth is not None else None
        sources = Sources(files=files, min_score=self.min_score, longest=self.longest)
        return list(render(spec, parsed, truth, sources))
