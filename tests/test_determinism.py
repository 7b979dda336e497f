"""Same seed and config -> byte-identical run file on CPU, for every task (one short training each)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.config import config_dir
from baselines.pipeline import run

Compose = Callable[..., DictConfig]

# the smallest synthetic sets that still give each task a few batches
TINY: dict[str, tuple[str, ...]] = {
    "drawnui": ("synthetic.n_train=6", "synthetic.n_test=3", "data.image_size=160", "model.net.backbone=resnet10t"),
    "coral_boxes": ("synthetic.n_train=6", "synthetic.n_test=3", "data.image_size=160", "model.net.backbone=resnet10t"),
    "coral_polygons": ("synthetic.n_train=6", "synthetic.n_test=3", "data.image_size=128"),
    "concepts": ("synthetic.n_train=12", "synthetic.n_test=4"),
    "caption": ("synthetic.n_train=12", "synthetic.n_test=4"),
    "vqa": ("synthetic.n_train=24", "synthetic.n_test=4"),
    "vqg": ("synthetic.n_train=24", "synthetic.n_test=4"),
    "tbct": ("synthetic.n_train=8", "synthetic.n_test=3", "+synthetic.size=32", "data.size=[16,16,16]"),
    "lmrt": ("synthetic.n_events=8",),
    "spll": ("synthetic.n_train=16", "synthetic.n_test=4"),
}


def test_every_demo_is_covered() -> None:
    assert sorted(TINY) == sorted(p.stem for p in (config_dir() / "demo").glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(TINY))
def test_same_seed_same_run_file(demo_cfg: Compose, name: str) -> None:
    short = (*TINY[name], "trainer.max_epochs=1", "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1")
    instantiate(demo_cfg(name, *short).synthetic)
    first = run(demo_cfg(name, *short, "seed=3", output="first"))
    second = run(demo_cfg(name, *short, "seed=3", output="second"))
    text = Path(first["run_file"]).read_bytes()
    assert text and text == Path(second["run_file"]).read_bytes()
