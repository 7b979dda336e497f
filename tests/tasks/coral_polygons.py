"""Coral pixel-wise parsing: a U-Net whose masks become polygons."""

from __future__ import annotations

from typing import Any

import torch

from tasks import Overfit, TaskKit


def _labels_its_pixels(module: Any, batch: dict[str, Any]) -> None:
    module.eval()
    with torch.no_grad():
        predicted = module(batch["image"]).argmax(1)
    foreground = batch["mask"] > 0
    assert (predicted == batch["mask"])[foreground].float().mean() > 0.5


KIT = TaskKit(
    name="coral_polygons",
    tiny=("synthetic.n_train=6", "synthetic.n_test=4"),
    fast=("data.image_size=128",),
    real=(
        "model.net.encoder=tu-resnet10t",
        "model.net.encoder_weights=null",
        "model.net.encoder_depth=3",
        "model.net.decoder_channels=[16,16,16]",
        "data.image_size=128",
        "data.loader.batch_size=2",
    ),
    overfit=Overfit(
        items=4, steps=60, lr=3e-3, loss_ratio=0.2, overrides=("data.image_size=128",), memorised=_labels_its_pixels
    ),
)
