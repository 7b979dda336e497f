"""The tabular regression LightningModule (lifelog SPLL): a small MLP on standardised features."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from baselines.models.base import BaseTask, OptimizerFactory, SchedulerFactory


def mlp(in_features: int, hidden: int = 32, layers: int = 2, dropout: float = 0.1) -> nn.Module:
    """in_features -> hidden (x layers, GELU, dropout) -> 1."""
    blocks: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout)]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, 1))


class TabularRegressionTask(BaseTask):
    """Regresses one value per row with a Huber loss (robust with a handful of participants).

    Args:
        net: Maps (B, features) to (B, 1).
        optimizer, scheduler, scheduler_interval, monitor, channels_last, compile_model: See BaseTask.
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        monitor: str | None = "val/mae",
        channels_last: bool = False,
        compile_model: bool = False,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval, monitor, channels_last, compile_model)
        self.net = net

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
