"""The detection LightningModule (drawnUI, coral subtask 1): any torchvision-style detector."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torchmetrics.detection import MeanAveragePrecision

from baselines.ensemble.wbf import weighted_boxes_fusion_pixels
from baselines.models.base import BaseModule, Optim
from baselines.models.tta import TTA, View, resize


@contextlib.contextmanager
def _internal_scale(net: nn.Module, scale: float) -> Iterator[bool]:
    """Scales a torchvision detector's internal resize (GeneralizedRCNNTransform), which would otherwise
    undo a rescaled input; its boxes then come back in input pixels. False: the net has no such resize."""
    transform = getattr(net, "transform", None)
    if transform is None or not hasattr(transform, "min_size") or not hasattr(transform, "max_size"):
        yield False
        return
    saved = transform.min_size, transform.max_size
    transform.min_size = tuple(max(1, round(s * scale)) for s in saved[0])
    transform.max_size = max(1, round(saved[1] * scale))
    try:
        yield True
    finally:
        transform.min_size, transform.max_size = saved


class DetectionModule(BaseModule):
    """Trains a torchvision-style detector on dict batches and predicts boxes in original pixels.

    The network follows torchvision's contract: `net(images, targets)` returns a loss dict in
    training, `net(images)` a list of `{"boxes", "labels", "scores"}` otherwise, with label 0 as
    background. The data's labels are 0-based, so they are shifted by one on the way in and out.

    Args:
        net: The detector (e.g. `baselines.models.nets.detectors.faster_rcnn`).
        optim: Optimizer, scheduler and how the network runs (see BaseModule).
        tta: Test-time augmentation at predict time: each view's boxes are mapped back to the input and
            the views are fused by weighted boxes fusion (off when None).
    """

    def __init__(
        self,
        net: nn.Module,
        optim: Optim,
        tta: TTA | None = None,
    ) -> None:
        super().__init__(optim)
        self.net = net
        self.tta = tta
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

    def _detect_view(self, images: list[torch.Tensor], view: View) -> list[dict[str, torch.Tensor]]:
        """The net's detections on one view of the images, in the images' own pixels."""
        sizes = [(image.shape[-1], image.shape[-2]) for image in images]
        if view.flip:
            images = [image.flip(-1) for image in images]
        with _internal_scale(self.net, view.scale) as scaled_inside:
            if view.scale != 1.0 and not scaled_inside:
                images = [resize(im, [max(1, round(n * view.scale)) for n in im.shape[-2:]]) for im in images]
            outputs = self.net(images)
        mapped = []
        for (width, height), image, out in zip(sizes, images, outputs, strict=True):
            # back to the input's pixels: the exact per-axis factor of the (rounded) resize
            factor = torch.tensor([image.shape[-1] / width, image.shape[-2] / height] * 2, device=out["boxes"].device)
            boxes = out["boxes"].float() / factor
            if view.flip:
                boxes = torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], 1)
            mapped.append({"boxes": boxes, "scores": out["scores"].float(), "labels": out["labels"]})
        return mapped

    def detect(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """Detections per image: the net's, or with TTA the views' fused by weighted boxes fusion (left
        on the CPU, where the fusion runs: predict_step, the only consumer, moves its results there)."""
        tta = self.tta
        if tta is None or not tta.enabled:
            return self.net(images)
        per_view = [self._detect_view(images, view) for view in tta.views()]
        fused = []
        for i, image in enumerate(images):
            outs = [view_outputs[i] for view_outputs in per_view]
            boxes, scores, labels = weighted_boxes_fusion_pixels(
                [o["boxes"].detach().cpu().numpy() for o in outs],
                [o["scores"].detach().cpu().numpy() for o in outs],
                [o["labels"].detach().cpu().numpy() for o in outs],
                [1.0] * len(outs),
                (float(image.shape[-1]), float(image.shape[-2])),
                tta.iou_threshold,
            )
            fused.append(
                {
                    "boxes": torch.from_numpy(np.ascontiguousarray(boxes)).float(),
                    "scores": torch.from_numpy(scores).float(),
                    "labels": torch.from_numpy(labels).long(),
                }
            )
        return fused

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        outputs = self.detect(self._images(batch))
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
