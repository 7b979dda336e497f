"""Train -> predict -> write run file -> validate -> score, driven by one composed Hydra config.

`run` tells the whole story in three steps: `build` (callbacks, data module, model, loggers, trainer; every input
checked before anything trains), `fit` (training, resumable after SIGTERM or Ctrl-C) and `publish` (predict ->
validate -> score -> commit -> plots -> results page). Only this package (and the CLI) sees the config: everything
it builds gets plain typed arguments through `hydra.utils.instantiate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from baselines.pipeline.build import build
from baselines.pipeline.fit import fit
from baselines.pipeline.publish import curves_page, publish


def run(cfg: DictConfig, overrides: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs what the config asks for (`train`, `predict`, `evaluate` flags) and returns a summary.

    Args:
        cfg: The composed config.
        overrides: The overrides it was composed from, stored in checkpoints so that
            `baselines predict ckpt_path=X` can compose it again; taken from Hydra when None.

    Returns:
        `task`, `run_file`, `checkpoint`, `scores` (empty when there is no ground truth), `metrics`
        (the trainer's last logged values), `monitor` (the best value of `cfg.monitor`, what a sweeper
        optimises; None without training or validation), with scores `plots` (the PNGs written next to
        them, see baselines.visual.plots), `results` (the run folder's results page: curves, per-class scores,
        pictures; baselines.visual.results) and, when items were left out as unreadable, `skipped`.
    """
    if cfg.get("seed") is not None:
        pl.seed_everything(int(cfg.seed), workers=True)
    overrides = list(overrides) if overrides is not None else _hydra_overrides()
    built = build(cfg, overrides)
    checkpoint, monitor = fit(built, cfg, overrides) if cfg.get("train") else (built.checkpoint, None)
    summary: dict[str, Any] = {
        "task": built.spec.name,
        "checkpoint": checkpoint,
        "run_file": None,
        "scores": {},
        "metrics": {k: float(v) for k, v in built.trainer.callback_metrics.items() if v.numel() == 1},
        "monitor": monitor,
    }
    if cfg.get("predict"):
        summary.update(publish(built, cfg, overrides, checkpoint))
    elif cfg.get("train") and built.trainer.is_global_zero:  # no predictions: the results page is the curves
        summary["results"] = curves_page(built, cfg)
    return summary


def _hydra_overrides() -> list[str]:
    """The overrides `hydra.main` composed this run from (empty outside hydra.main)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
