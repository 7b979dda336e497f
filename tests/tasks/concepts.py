"""Medical concept detection: multi-label CUIs from an image classifier."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from baselines.models.multilabel import per_image_f1
from tasks import Overfit, TaskKit


def _size_head(module: Any, datamodule: Any) -> None:
    module.build_head(datamodule.vocabulary)


def _names_its_concepts(module: Any, batch: dict[str, Any]) -> None:
    with torch.no_grad():  # train-mode batch statistics: the check is that the batch was memorised
        probabilities = module(batch["image"]).sigmoid()
    assert float(per_image_f1(probabilities > 0.5, batch["target"] > 0.5)) == pytest.approx(1.0)


KIT = TaskKit(
    name="concepts",
    tiny=("synthetic.n_train=12", "synthetic.n_test=4"),
    real=("model.net.name=resnet10t", "model.net.pretrained=false", "data.image_size=32", "data.loader.batch_size=4"),
    overfit=Overfit(
        items=8,
        steps=40,
        lr=2e-3,
        final_loss=0.05,
        overrides=("data.loader.batch_size=4",),
        prepare=_size_head,
        memorised=_names_its_concepts,
    ),
)
