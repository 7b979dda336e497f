"""`fit`: training, with SIGTERM and Ctrl-C turned into a stop that says how to resume."""

from __future__ import annotations

from collections.abc import Sequence

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from baselines.pipeline.build import Built


def fit(built: Built, cfg: DictConfig, overrides: Sequence[str]) -> tuple[str | None, float | None]:
    """Trains from `built.checkpoint` (None: fresh weights).

    Returns:
        The checkpoint to predict with (the checkpoint callback's best; None: the weights in memory, as after
        fast_dev_run or without a checkpoint callback) and the value of `cfg.monitor` that goes with it.

    Raises:
        SystemExit: On SIGTERM or Ctrl-C, with the exit code of `Preemption.report` (which logs how to resume).
    """
    trainer, preemption, saver = built.trainer, built.preemption, built.saver
    try:
        trainer.fit(built.model, datamodule=built.datamodule, ckpt_path=built.checkpoint)
    except SystemExit:  # SIGTERM or Ctrl-C (Lightning exits on a KeyboardInterrupt)
        if preemption.signal is None:
            raise
        raise SystemExit(preemption.report(overrides, cfg.paths.output_dir)) from None
    if preemption.signal is not None:  # it came as the last batch ended: training is complete, prediction not
        raise SystemExit(preemption.report(overrides, cfg.paths.output_dir))
    best = saver.best_model_path if saver is not None else ""
    return best or None, _monitor_value(saver, trainer, cfg.get("monitor"))


def _monitor_value(saver: ModelCheckpoint | None, trainer: pl.Trainer, name: str | None) -> float | None:
    """The monitored metric of the checkpoint the run predicts with (the checkpoint callback's best), else
    its last logged value; None when it was never logged (no validation, fast_dev_run)."""
    if saver is not None and saver.best_model_score is not None:
        return float(saver.best_model_score)
    value = trainer.callback_metrics.get(name) if name else None
    return float(value) if value is not None and value.numel() == 1 else None
