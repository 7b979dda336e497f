"""Hydra entry points `baselines-train` and `baselines-predict` (also reached as `baselines train|predict`).

They are real console scripts because Lightning's DDP launcher starts the other local ranks by
re-running `sys.argv`: it must name a script that takes Hydra overrides directly.
"""

from __future__ import annotations

import json
import logging
import sys

import hydra
from omegaconf import DictConfig

from baselines.checkpoints import CheckpointError, with_checkpoint_overrides
from baselines.config import config_dir
from baselines.pipeline import run

log = logging.getLogger(__name__)


def _report(cfg: DictConfig) -> None:
    summary = run(cfg)
    if summary.get("run_file"):
        print(json.dumps(summary, indent=2, default=str))


main = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")(_report)
predict = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="predict")(_report)


def predict_main() -> None:
    """`baselines-predict`: without `experiment=`, the checkpoint's own overrides are composed first."""
    try:
        sys.argv = [sys.argv[0], *with_checkpoint_overrides(sys.argv[1:])]
    except CheckpointError as exc:
        sys.exit(f"error: {exc}")
    predict()


if __name__ == "__main__":
    main()
