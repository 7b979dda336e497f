"""Every model learns: one batch of its task's synthetic data, memorised by its own `training_step`.

Each task's kit (`tests/tasks/<task>.py`) says how many items, steps and what the model must then get right.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.data.base import collate_dicts
from conftest import train_steps
from tasks import OVERFIT_KITS, TaskKit

Compose = Callable[..., DictConfig]


@pytest.mark.slow
@pytest.mark.parametrize("kit", OVERFIT_KITS, ids=lambda kit: kit.name)
def test_overfits_one_batch(kit: TaskKit, demo_cfg: Compose) -> None:
    check = kit.overfit
    assert check is not None
    torch.manual_seed(0)  # the model's random init, independent of which tests ran before
    cfg = demo_cfg(kit.name, *kit.tiny, *check.overrides)
    instantiate(cfg.synthetic)
    datamodule = instantiate(cfg.data)
    module = instantiate(cfg.model)
    check.prepare(module, datamodule)
    dataset = datamodule.dataset("train")
    batch = collate_dicts([dataset[i] for i in range(check.items)])
    losses = train_steps(module, batch, steps=check.steps, lr=check.lr)
    if check.final_loss is not None:
        assert losses[-1] < check.final_loss, losses[:: max(1, check.steps // 10)]
    if check.loss_ratio is not None:
        assert losses[-1] < check.loss_ratio * losses[0], losses[:: max(1, check.steps // 10)]
    check.memorised(module, batch)


def test_every_task_has_a_kit_and_most_an_overfit_check() -> None:
    from baselines.config import config_dir
    from tasks import KITS

    assert sorted(KITS) == sorted(p.stem for p in (config_dir() / "demo").glob("*.yaml"))
    assert {kit.name for kit in OVERFIT_KITS} >= {"drawnui", "coral_polygons", "concepts", "caption", "vqa", "tbct"}
