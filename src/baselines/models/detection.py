"""The detection LightningModule (drawnUI, coral subtask 1): any torchvision-style detector."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchmetrics.detection import MeanAveragePrecision

from baselines.models.base import BaseTask, OptimizerFactory, SchedulerFactory


class DetectionTask(BaseTask):
    """Trains a torchvision-style detector on dict batches and predicts boxes in original pixels.

    The network follows torchvision's contract: `net(images, targets)` returns a loss dict in
    training, `net(images)` a list of `{"boxes", "labels", "scores"}` otherwise, with label 0 as
    background. The data's labels are 0-based, so they are shifted by one on the way in and out.

    Args:
        net: The detector (e.g. `baselines.models.detectors.faster_rcnn`).
        optimizer, scheduler, scheduler_interval, monitor, channels_last, compile_model: See BaseTask.
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        monitor: str | None = "val/map_50",
        channels_last: bool = False,
        compile_model: bool = False,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval, monitor, channels_last, compile_model)
        self.net = net
        self.val_map = MeanAveragePrecision(box_format="xyxy", iou_thresholds=[0.5], backend="pycocotools")

    @staticmethod
    def _targets(batch: dict[str, Any]) -> list[dict[str, torch.Tensor]]:
        return [{"boxes": b, "labels": lab + 1} for b, lab in zip(batch["boxes"], batch["labels"], strict=False)]

    def _images(self, batch: dict[str, Any]) -> list[torch.Tensor]:
        return list(self.prepare_images(batch["image"]))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        losses = self.net(self._images(batch), self._targets(batch))
        loss = sum(losses.values())
        batch_size = len(batch["id"])
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, batch_size=batch_size)
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        outputs = self.net(self._images(batch))
        self.val_map.update(outputs, self._targets(batch))

    def on_validation_epoch_end(self) -> None:
        result = self.val_map.compute()
        self.log("val/map_50", result["map"].clamp(min=0), prog_bar=True, sync_dist=True)
        self.val_map.reset()

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        outputs = self.net(self._images(batch))
        results = []
        for i, out in enumerate(outputs):
            height, width = (int(v) for v in batch["orig_size"][i])
            boxes = out["boxes"].float() / float(batch["scale"][i])
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
            keep = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
            results.append(
                {
                    "id": batch["id"][i],
                    "index": int(batch["index"][i]),
                    "boxes": boxes[keep].cpu(),
                    "scores": out["scores"][keep].float().cpu(),
                    "labels": (out["labels"][keep] - 1).cpu(),
                }
            )
        return results
