"""The tabular regression LightningModule (lifelog SPLL): a small MLP on standardised features."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parameter import is_lazy

from baselines.models.base import BaseModule, Optim


class TabularRegressionModule(BaseModule):
    """Regresses one value per row with a Huber loss (robust with a handful of participants).

    Args:
        net: Maps (B, features) to (B, 1).
        optim: Optimizer, scheduler and how the network runs (see BaseModule).
    """

    def __init__(self, net: nn.Module, optim: Optim) -> None:
        super().__init__(optim)
        self.net = net

    def setup(self, stage: str) -> None:
        # A first layer left to the data (in_features=None) is sized from the data module's feature columns
        # now, before the optimizer is made or a checkpoint restored, so the module is an ordinary one from then on
        # (without a data module it is sized by its first batch).
        datamodule = getattr(self._trainer, "datamodule", None)
        width = getattr(datamodule, "num_features", None)
        if width is not None and any(is_lazy(p) for p in self.net.parameters()):
            mode = self.net.training
            self.net.eval()  # the dry run draws no dropout mask
            with torch.no_grad():
                self.net(torch.zeros(1, int(width), device=self.device))
            self.net.train(mode)
        super().setup(stage)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features).squeeze(-1)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = F.huber_loss(self(batch["features"]), batch["target"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["id"]))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        error = (self(batch["features"]) - batch["target"]).abs().mean()
        self.log("val/mae", error, prog_bar=True, batch_size=len(batch["id"]), sync_dist=True)

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        values = self(batch["features"]).float().cpu().tolist()
        return [{"id": batch["id"][i], "index": int(batch["index"][i]), "value": v} for i, v in enumerate(values)]
