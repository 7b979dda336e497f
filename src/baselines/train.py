"""Hydra entry points `baselines-train` and `baselines-predict` (also reached as `baselines train|predict`).

They are real console scripts because Lightning's DDP launcher starts the other local ranks by
re-running `sys.argv`: it must name a script that takes Hydra overrides directly.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from baselines.checkpoints import CheckpointError, with_checkpoint_overrides
from baselines.config import config_dir, moved_override
from baselines.errors import exits_on_data_error
from baselines.io.atomic import atomic_write_text
from baselines.pipeline import run
from baselines.tracking import finish_runs

log = logging.getLogger(__name__)
SUMMARY_FILE = "summary.json"


def _report(cfg: DictConfig) -> float | None:
    """The Hydra task function: runs the pipeline, writes `<run dir>/summary.json` and returns the best
    value of `cfg.monitor` (the primary validation metric), which is what a sweeper optimises.

    It returns None when the run did not train or never logged the monitor (fast_dev_run, no validation
    data): the Optuna sweeper then records the trial as failed ("Return value must be float-castable")
    rather than ranking it. A NaN monitor (a diverged run) is returned as is, and Optuna fails that
    trial too.
    """
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    try:
        with exits_on_data_error():  # missing or unreadable files: one clean message, exit 2
            summary = run(cfg)
    finally:
        finish_runs()
    monitor = summary.get("monitor")
    if cfg.get("train") and monitor is None:
        log.warning("%s was never logged: nothing for a sweeper to optimise in this run", cfg.get("monitor"))
    elif monitor is not None and math.isnan(monitor):
        log.warning("%s is NaN (the run diverged?)", cfg.get("monitor"))
    if getattr(rank_zero_only, "rank", 0) == 0:  # every DDP rank runs this function (Lightning sets the rank)
        record = {**summary, "monitor": {"name": cfg.get("monitor"), "mode": cfg.get("monitor_mode"), "value": monitor}}
        text = json.dumps(record, indent=2, default=str)
        atomic_write_text(Path(cfg.paths.output_dir) / SUMMARY_FILE, text + "\n")
        if summary.get("run_file"):
            print(text)
    return monitor


train = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")(_report)
predict = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="predict")(_report)


def main() -> None:
    """`baselines-train`: overrides of keys that moved into a shared settings node are spelled the new way."""
    sys.argv = [sys.argv[0], *(moved_override(arg) for arg in sys.argv[1:])]
    train()


def predict_main() -> None:
    """`baselines-predict`: without `experiment=`, the checkpoint's own overrides are composed first (and
    overrides of keys that moved into a shared settings node are spelled the new way)."""
    try:
        sys.argv = [sys.argv[0], *with_checkpoint_overrides(sys.argv[1:])]
    except CheckpointError as exc:
        sys.exit(f"error: {exc}")
    predict()


if __name__ == "__main__":
    main()
