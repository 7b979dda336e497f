"""The semantic-segmentation LightningModule (coral pixel-wise parsing): masks in, polygons out."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassJaccardIndex

from baselines.io.polygons import flat, scored_polygons
from baselines.models.base import BaseModule, Optim
from baselines.models.tta import TTA, average_maps


class SegmentationModule(BaseModule):
    """Per-pixel classification (0 = background); predictions become scored polygons per class.

    Args:
        net: Maps (B, 3, H, W) images to (B, num_classes + 1, H, W) logits.
        num_classes: Foreground classes.
        class_weights: Optional cross-entropy weight per output channel (class imbalance).
        dice_weight: Weight of an added multiclass Dice loss (0 disables it).
        polygon_epsilon: Douglas-Peucker tolerance, in original-image pixels, for predicted polygons.
        min_area: Smallest predicted component kept, in original-image pixels.
        optim: Optimizer, scheduler and how the network runs (see BaseModule).
        tta: Test-time augmentation at predict time: the views' probability maps, mapped back, are
            averaged before vectorising (off when None).
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        optim: Optim,
        class_weights: list[float] | None = None,
        dice_weight: float = 0.0,
        polygon_epsilon: float = 2.0,
        min_area: float = 16.0,
        tta: TTA | None = None,
    ) -> None:
        super().__init__(optim)
        self.net = net
        self.num_classes = num_classes
        self.tta = tta
        weights = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        if weights is not None and len(weights) != num_classes + 1:
            raise ValueError(f"class_weights needs {num_classes + 1} values (background first), got {len(weights)}")
        self.register_buffer("class_weights", weights, persistent=False)
        self.dice = None
        if dice_weight > 0:
            from segmentation_models_pytorch.losses import DiceLoss

            self.dice = DiceLoss("multiclass")
        self.dice_weight = dice_weight
        self.polygon_epsilon = polygon_epsilon
        self.min_area = min_area
        self.val_iou = MulticlassJaccardIndex(num_classes + 1, average="macro")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.prepare_images(images))

    def _loss(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights: torch.Tensor | None = self.class_weights  # type: ignore[assignment]
        loss = F.cross_entropy(logits, mask, weight=weights)
        if self.dice is not None:
            loss = loss + self.dice_weight * self.dice(logits, mask)
        return loss

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self._loss(self(batch["image"]), batch["mask"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["id"]))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch["image"])
        self.log("val/loss", self._loss(logits, batch["mask"]), batch_size=len(batch["id"]), sync_dist=True)
        self.val_iou.update(logits.argmax(1), batch["mask"])

    def on_validation_epoch_end(self) -> None:
        self.log("val/miou", self.val_iou.compute(), prog_bar=True, sync_dist=True)
        self.val_iou.reset()

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        # a U-Net takes sizes that are multiples of its encoder's output stride: rescaled views are rounded to it
        stride = int(getattr(getattr(self.net, "encoder", None), "output_stride", 1) or 1)
        probabilities = average_maps(
            self.tta, self.prepare_images(batch["image"]), lambda x: self.net(x).float().softmax(1), stride
        ).cpu()
        results = []
        for i in range(len(batch["id"])):
            height, width = (int(v) for v in batch["orig_size"][i])
            results.append(
                {
                    "id": batch["id"][i],
                    "index": int(batch["index"][i]),
                    **self.vectorise(probabilities[i].numpy(), float(batch["scale"][i]), height, width),
                }
            )
        return results

    def vectorise(self, probabilities: np.ndarray, scale: float, height: int, width: int) -> dict[str, Any]:
        """Per class, each connected component of the argmax map becomes a polygon in original pixels,
        scored by the mean probability of that class inside it."""
        valid_h, valid_w = round(height * scale), round(width * scale)  # the letterbox pads bottom/right
        probabilities = probabilities[:, :valid_h, :valid_w]
        classes = probabilities.argmax(0)
        boxes, scores, labels, polygons = [], [], [], []
        for channel in range(1, probabilities.shape[0]):
            component_mask = classes == channel
            if not component_mask.any():
                continue
            for polygon, score in scored_polygons(
                component_mask, probabilities[channel], self.polygon_epsilon * scale, self.min_area * scale**2
            ):
                original = np.clip(polygon / scale, 0, [width, height])
                boxes.append([*original.min(0), *original.max(0)])
                scores.append(score)
                labels.append(channel - 1)
                polygons.append(flat(original))
        return {
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "scores": torch.tensor(scores, dtype=torch.float32),
            "labels": torch.tensor(labels, dtype=torch.long),
            "polygons": polygons,
        }
