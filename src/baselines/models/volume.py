"""The volume-classification LightningModule (tuberculosis CT report): per-lung findings from 3D CT.

Samples carry `volume` (B, 2, 1, D, H, W): both lungs of a CT, the right one mirrored, so one 3D
network scores every lung; its (2B, findings) logits are arranged back per CT and reported in the
run-file label order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MultilabelAUROC

from baselines.io.formats.tuberculosis import LABELS, lung_label_order
from baselines.models.base import BaseModule, Optim
from baselines.models.tta import TTA, mean_over_views


class VolumeClassificationModule(BaseModule):
    """One 3D network over both (mirrored) lungs of each CT.

    Args:
        net: Maps (N, 1, D, H, W) lung volumes to (N, findings) logits.
        labels: Run-file label names in order (see baselines.data.tuberculosis.lung_label_order).
        pos_weight: Optional BCE positive weight per finding (affected, caverns, pleurisy).
        gradient_checkpointing: Recompute the network's activations in the backward pass
            (less memory for large volumes, about a third more compute).
        optim: Optimizer, scheduler and how the network runs (see BaseModule).
        tta: Test-time augmentation at predict time: the mean of the views' logits; `hflip` mirrors the
            last axis, the training augmentation's front-back flip, and scales resize the lung volumes
            (off when None).
    """

    def __init__(
        self,
        net: nn.Module,
        optim: Optim,
        labels: Sequence[str] = LABELS,
        pos_weight: Sequence[float] | None = None,
        gradient_checkpointing: bool = False,
        tta: TTA | None = None,
    ) -> None:
        super().__init__(optim)
        self.net = net
        self.tta = tta
        self.labels = tuple(labels)
        self.order = lung_label_order(self.labels)
        weight = torch.tensor(pos_weight, dtype=torch.float32) if pos_weight else None
        self.register_buffer("pos_weight", weight, persistent=False)
        self.gradient_checkpointing = gradient_checkpointing
        self.val_auc = MultilabelAUROC(num_labels=len(self.labels), average=None)

    def lung_logits(self, volume: torch.Tensor) -> torch.Tensor:
        """(B, 2, 1, D, H, W) -> (B, 2, findings) logits."""
        batch = volume.shape[0]
        flat = volume.flatten(0, 1)
        if self.gradient_checkpointing and self.training:
            logits = torch.utils.checkpoint.checkpoint(self.net, flat, use_reentrant=False)
        else:
            logits = self.net(flat)
        return logits.view(batch, 2, -1)

    def run_order(self, per_lung: torch.Tensor) -> torch.Tensor:
        """(B, 2, findings) -> (B, labels) in run-file order."""
        return torch.stack([per_lung[:, lung, finding] for lung, finding in self.order], 1)

    def _loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        weight: torch.Tensor | None = self.pos_weight  # type: ignore[assignment]
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self._loss(self.lung_logits(batch["volume"]), batch["target"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["id"]))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self.lung_logits(batch["volume"])
        self.log("val/loss", self._loss(logits, batch["target"]), batch_size=len(batch["id"]), sync_dist=True)
        self.val_auc.update(self.run_order(logits).sigmoid(), self.run_order(batch["target"]).long())

    def on_validation_epoch_end(self) -> None:
        per_label = self.val_auc.compute()
        self.log("val/mean_auc", per_label.mean(), prog_bar=True)
        self.val_auc.reset()

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        logits = mean_over_views(self.tta, batch["volume"], self.lung_logits, spatial_dims=3)
        probabilities = self.run_order(logits).float().sigmoid().cpu()
        return [
            {"id": batch["id"][i], "index": int(batch["index"][i]), "probabilities": probabilities[i].tolist()}
            for i in range(len(batch["id"]))
        ]
