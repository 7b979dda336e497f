"""drawnUI: Faster R-CNN on synthetic hand-drawn pages."""

from __future__ import annotations

from typing import Any

import torch

from tasks import Overfit, TaskKit
from tasks._nets import DETECTOR


def _finds_its_boxes(module: Any, batch: dict[str, Any]) -> None:
    module.eval()
    with torch.no_grad():
        module.validation_step(batch, 0)
    assert float(module.val_map.compute()["map"]) > 0.5


KIT = TaskKit(
    name="drawnui",
    tiny=("synthetic.n_train=6", "synthetic.n_test=3"),
    fast=("data.image_size=160", "model.net.backbone=resnet10t"),
    real=DETECTOR,
    overfit=Overfit(
        items=2,
        steps=60,
        lr=1e-3,
        loss_ratio=0.35,
        overrides=(
            "data.image_size=192",
            "data.loader.batch_size=2",
            "model.net.backbone=resnet10t",
            "model.net.fpn_channels=32",
            "model.net.representation_size=64",
        ),
        memorised=_finds_its_boxes,
    ),
)
