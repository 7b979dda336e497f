"""Experiment trackers: the Lightning loggers of `logger=` (csv, tensorboard, wandb, mlflow; W&B and MLflow
come with the `trackers` extra). The pipeline gives each the resolved config as hyperparameters and the
official test scores as `test/<metric>`; this module ends what a logger leaves open between runs.
"""

from __future__ import annotations

import sys


def finish_runs() -> None:
    """Ends the process-wide W&B run, if one is open.

    `WandbLogger` attaches to `wandb.run` when one exists: without this, the next job of a sweep that
    runs in the same process (Hydra's basic launcher, Optuna) would log into this job's run.
    """
    wandb = sys.modules.get("wandb")  # never imported here: only a run that used W&B has one open
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()
