"""Small callbacks the default config adds to every run."""

from __future__ import annotations

import logging

import lightning.pytorch as pl
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
