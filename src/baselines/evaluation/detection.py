"""Detection scores: mAP at an IoU threshold, and overall precision and recall at that threshold, all
from one pycocotools matching (`evaluation.matches`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from baselines.evaluation.coco import MAX_DETECTIONS, region_average_precision, region_matches
from baselines.evaluation.matches import RegionMatches, accumulate, mean_precision
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
    max_detections: int = MAX_DETECTIONS,
) -> dict[str, float]:
    """Overall precision and recall at an IoU threshold, pooled over all images and classes.

    A prediction is a true positive when COCOeval matches it (`detection_scores`). The images are those
    of ground_truth, as for `mean_average_precision` (predictions on an image without regions count).
    """
    matches = region_matches(predictions, ground_truth, {}, "box", [iou_threshold], max_detections)
    scores = detection_scores(matches)[0]
    return {"precision": scores["precision"], "recall": scores["recall"]}


def detection_scores(matches: RegionMatches, order: np.ndarray | None = None) -> list[dict[str, float]]:
    """Per threshold of matches: `map` (COCO's), and `precision` and `recall` pooled over all images and
    classes, over the images order (indices, repeats counted; default all).

    Precision and recall count COCOeval's own matches: within each image and class, detections by
    descending confidence (the `max_detections` most confident; any beyond are unmatched), each taking
    the unmatched ground-truth region of highest IoU at or above the threshold (of equal IoUs, the last).
    Precision divides by every prediction, recall by every ground-truth region; 0 without any.
    """
    annotations = matches.annotations if order is None else matches.annotations[order]
    results = matches.results if order is None else matches.results[order]
    hits = (matches.hits if order is None else matches.hits[:, order]).sum(axis=1)
    truths, predictions = int(annotations.sum()), int(results.sum())
    precision = accumulate(matches, order)[0] if truths and predictions else None
    return [
        {
            "map": mean_precision(precision[t]) if precision is not None else 0.0,
            "precision": int(hits[t]) / predictions if predictions else 0.0,
            "recall": int(hits[t]) / truths if truths else 0.0,
        }
        for t in range(matches.thresholds.size)
    ]
