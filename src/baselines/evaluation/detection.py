"""Detection scores: mAP at an IoU threshold (COCO-style, via torchmetrics and faster-coco-eval),
overall precision and recall at that threshold (greedy matching by confidence)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import torch
from torchmetrics.detection import MeanAveragePrecision
from torchvision.ops import box_iou

from baselines.types import Region

# faster-coco-eval prints its full COCO summary table at INFO level on every call.
logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)


def _as_target(regions: Sequence[Region], with_scores: bool) -> dict[str, torch.Tensor]:
    boxes = torch.tensor([r.box for r in regions], dtype=torch.float64).reshape(-1, 4)
    out = {"boxes": boxes, "labels": torch.tensor([r.label for r in regions], dtype=torch.long)}
    if with_scores:
        out["scores"] = torch.tensor([r.score for r in regions], dtype=torch.float64)
    return out


def mean_average_precision(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    iou_threshold: float = 0.5,
    per_class: bool = False,
) -> dict[str, float]:
    """COCO-style mAP (101-point interpolation, mean over classes that have ground truth).

    Images in the ground truth without a prediction count as having no detections; predictions for
    images outside the ground truth are ignored (the validator rejects them earlier).

    Returns:
        `map` and, with per_class, `map_class_<label>` for classes with ground truth.
    """
    metric = MeanAveragePrecision(
        box_format="xyxy",
        iou_thresholds=[iou_threshold],
        class_metrics=per_class,
        backend="faster_coco_eval",
        max_detection_thresholds=[1, 10, 1000],
        sync_on_compute=False,  # a local evaluation of a whole run file; under DDP only rank 0 scores
    )
    preds, targets = [], []
    for image_id, truth in ground_truth.items():
        preds.append(_as_target(predictions.get(image_id, ()), with_scores=True))
        targets.append(_as_target(truth, with_scores=False))
    metric.update(preds, targets)
    result = metric.compute()
    scores = {"map": float(result["map"])}
    if per_class:
        for label, value in zip(
            result["classes"].reshape(-1).tolist(), result["map_per_class"].reshape(-1).tolist(), strict=False
        ):
            if value >= 0:
                scores[f"map_class_{label}"] = float(value)
    return scores


def precision_recall(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    iou_threshold: float = 0.5,
) -> dict[str, float]:
    """Overall precision and recall at an IoU threshold, pooled over all images and classes.

    Within each image and class, predictions are taken by descending confidence and each matches
    the unmatched ground-truth region of highest IoU if that IoU >= the threshold.
    """
    true_positives = n_pred = n_true = 0
    for image_id, truth in ground_truth.items():
        preds = predictions.get(image_id, ())
        n_pred += len(preds)
        n_true += len(truth)
        for label in {r.label for r in preds} & {r.label for r in truth}:
            p = sorted((r for r in preds if r.label == label), key=lambda r: -r.score)
            t = [r for r in truth if r.label == label]
            iou = box_iou(
                torch.tensor([r.box for r in p], dtype=torch.float64),
                torch.tensor([r.box for r in t], dtype=torch.float64),
            )
            taken = torch.zeros(len(t), dtype=torch.bool)
            for row in iou:
                row = row.masked_fill(taken, -1.0)
                best = int(row.argmax())
                if row[best] >= iou_threshold:
                    taken[best] = True
                    true_positives += 1
    return {
        "precision": true_positives / n_pred if n_pred else 0.0,
        "recall": true_positives / n_true if n_true else 0.0,
    }
