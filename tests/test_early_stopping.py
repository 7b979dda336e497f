"""`callbacks=early_stopping`: the default callbacks plus Lightning's EarlyStopping on the experiment's monitor."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.utils import instantiate
from lightning.pytorch.callbacks import EarlyStopping
from omegaconf import DictConfig, OmegaConf

from baselines.config import compose_config, config_dir
from baselines.pipeline import run

Compose = Callable[..., DictConfig]
EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_early_stopping_composes_on_top_of_the_default_callbacks(name: str, tmp_path: Path) -> None:
    paths = [f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}/out"]
    default = compose_config("train", [f"experiment={name}", *paths])
    cfg = compose_config("train", [f"experiment={name}", "callbacks=early_stopping", *paths])
    OmegaConf.resolve(default)
    OmegaConf.resolve(cfg)
    # every default callback, as the experiment set it (its run file name included), plus early stopping
    assert {k: v for k, v in cfg.callbacks.items() if k != "early_stopping"} == default.callbacks
    stopper = instantiate(cfg.callbacks.early_stopping)
    assert isinstance(stopper, EarlyStopping)
    assert (stopper.monitor, stopper.mode, stopper.patience) == (cfg.monitor, cfg.monitor_mode, 3)
    assert stopper.monitor == cfg.callbacks.model_checkpoint.monitor  # what the checkpoint keeps the best of


def _validated_epochs(output_dir: Path) -> list[int]:
    (log,) = output_dir.rglob("metrics.csv")
    rows = list(csv.DictReader(log.open()))
    return sorted({int(row["epoch"]) for row in rows if row.get("val/mae")})


def test_a_metric_that_never_improves_stops_training_after_patience(demo_cfg: Compose, tmp_path: Path) -> None:
    # lr=0: the weights, hence val/mae, never change, so no epoch after the first improves on it
    tiny = ("synthetic.n_train=16", "synthetic.n_test=4", "trainer.max_epochs=6", "model.optim.optimizer.lr=0")
    instantiate(demo_cfg("spll", *tiny).synthetic)
    stopped = run(demo_cfg("spll", *tiny, "callbacks=early_stopping", "callbacks.early_stopping.patience=1"))
    assert _validated_epochs(tmp_path / "out") == [0, 1]  # epoch 0 sets the best, epoch 1 fails to beat it: stop
    assert Path(stopped["run_file"]).is_file()  # then the run file is written with the best checkpoint, as usual
    run(demo_cfg("spll", *tiny, output="plain"))
    assert _validated_epochs(tmp_path / "plain") == [0, 1, 2, 3, 4, 5]
