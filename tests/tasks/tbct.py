"""Tuberculosis CT report: per-lung findings from a 3D classifier."""

from __future__ import annotations

from typing import Any

import torch

from tasks import Overfit, TaskKit


def _reports_its_lungs(module: Any, batch: dict[str, Any]) -> None:
    with torch.no_grad():
        predicted = module.lung_logits(batch["volume"]) > 0
    assert torch.equal(predicted, batch["target"] > 0.5)


KIT = TaskKit(
    name="tbct",
    tiny=("synthetic.n_train=8", "synthetic.n_test=3", "+synthetic.size=32", "data.size=[16,16,16]"),
    real=("model.net.name=resnet10", "data.size=[8,16,16]", "data.loader.batch_size=2"),
    overfit=Overfit(
        items=4,
        steps=30,
        lr=1e-3,
        final_loss=0.05,
        overrides=("data.loader.batch_size=2", "model.gradient_checkpointing=true"),
        memorised=_reports_its_lungs,
    ),
)
