"""Detection scores: mAP at an IoU threshold (pycocotools COCOeval), and overall precision and recall
at that threshold (greedy matching by confidence)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from baselines.evaluation.coco import MAX_DETECTIONS, region_average_precision, region_iou
from baselines.types import Region


def mean_average_precision(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    iou_threshold: float = 0.5,
    per_class: bool = False,
    max_detections: int = MAX_DETECTIONS,
) -> dict[str, float]:
    """Box mAP as pycocotools computes it (101-point interpolation, mean over classes with ground truth).

    Images in the ground truth without a prediction count as having no detections; an image of the
    ground truth without regions counts its predictions as false positives (`RegionSpec` adds every
    reference image without a ground-truth line so, as COCOeval does); predictions for images outside the
    ground truth are ignored (the validator rejects them earlier).

    Args:
        max_detections: Detections kept per image and class, the most confident first: COCO's default
            100, as pycocotools scores a run (the validator warns about a class group holding more).

    Returns:
        `map` and, with per_class, `map_class_<label>` for classes with ground truth.
    """
    result = region_average_precision(predictions, ground_truth, {}, "box", iou_threshold, max_detections)
    scores = {"map": result["map"]}
    if per_class:
        scores.update({f"map_class_{label}": value for label, value in sorted(result["per_class"].items())})
    return scores


def precision_recall(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    iou_threshold: float = 0.5,
) -> dict[str, float]:
    """Overall precision and recall at an IoU threshold, pooled over all images and classes.

    Within each image and class, predictions are taken by descending confidence and each matches
    the unmatched ground-truth region of highest IoU if that IoU >= the threshold. The images are those
    of ground_truth, as for `mean_average_precision` (predictions on an image without regions count).
    """
    true_positives = n_pred = n_true = 0
    for image_id, truth in ground_truth.items():
        preds = predictions.get(image_id, ())
        n_pred += len(preds)
        n_true += len(truth)
        for label in {r.label for r in preds} & {r.label for r in truth}:
            p = sorted((r for r in preds if r.label == label), key=lambda r: -r.score)
            t = [r for r in truth if r.label == label]
            taken = np.zeros(len(t), dtype=bool)
            for row in region_iou(p, t, "box"):
                row = np.where(taken, -1.0, row)
                best = int(row.argmax())
                if row[best] >= iou_threshold:
                    taken[best] = True
                    true_positives += 1
    return {
        "precision": true_positives / n_pred if n_pred else 0.0,
        "recall": true_positives / n_true if n_true else 0.0,
    }
