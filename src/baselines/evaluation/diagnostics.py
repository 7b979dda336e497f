"""What the plots of `baselines evaluate --plots` show, as numbers: per-class precision-recall curves
and confusion matrices. Pure functions (no plotting: baselines.visual.plots draws them).

Confusion matrices share one layout: rows are the true label plus a last row "none" (a prediction
that matches no truth: a false positive), columns the predicted label plus a last column "none" (a
truth nothing matched: a miss). The diagonal holds the correct predictions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from baselines.evaluation.coco import MAX_DETECTIONS, region_average_precision, region_iou
from baselines.io.polygons import Sizes, canvas_size
from baselines.types import Region, RegionKind


@dataclass(frozen=True)
class PRCurve:
    """One class's interpolated precision at COCO's 101 recall points, and its AP (their mean)."""

    recall: np.ndarray
    precision: np.ndarray
    average_precision: float


def region_pr_curves(
    run: Mapping[str, Sequence[Region]],
    truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    kind: RegionKind,
    iou_threshold: float = 0.5,
    max_detections: int = MAX_DETECTIONS,
) -> dict[int, PRCurve]:
    """The curves pycocotools averages into the task's mAP, one per class with ground truth (at most
    max_detections per image and class, the most confident, as the task's scorer keeps)."""
    result = region_average_precision(run, truth, sizes, kind, iou_threshold, max_detections)
    recall = np.asarray(result["recall_points"])
    curves = {}
    for label, precision in result["curves"].items():
        if np.all(precision > -1):  # -1: a class without ground truth
            curves[label] = PRCurve(recall, np.asarray(precision), float(np.mean(precision)))
    for label, value in result["per_class"].items():  # classes with ground truth but no detection
        if label not in curves:
            curves[label] = PRCurve(np.asarray([0.0, 1.0]), np.zeros(2), value)
    return dict(sorted(curves.items()))


def region_confusion(
    run: Mapping[str, Sequence[Region]],
    truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    kind: RegionKind,
    num_classes: int,
    iou_threshold: float = 0.5,
    min_score: float = 0.5,
) -> np.ndarray:
    """Detection confusion matrix, (num_classes + 1) square.

    Per image, predictions of at least min_score are matched to truths of any class by IoU (at least
    iou_threshold), the highest IoU first, each prediction and each truth at most once. A polygon of 1 or
    2 vertices (left out of the mAP) or without area (an empty mask) matches nothing: a false positive, or
    a missed truth.
    """
    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    none = num_classes
    for image_id, truths in truth.items():
        predictions = [r for r in run.get(image_id, ()) if r.score >= min_score]
        iou = region_iou(predictions, truths, kind, canvas_size(image_id, sizes, [*truths, *predictions]))
        pairs = sorted(
            (
                (iou[p, t], p, t)
                for p in range(len(predictions))
                for t in range(len(truths))
                if iou[p, t] >= iou_threshold
            ),
            key=lambda pair: -pair[0],
        )
        used_p: set[int] = set()
        used_t: set[int] = set()
        for _, p, t in pairs:
            if p not in used_p and t not in used_t:
                used_p.add(p)
                used_t.add(t)
                matrix[truths[t].label, predictions[p].label] += 1
        for p, region in enumerate(predictions):
            if p not in used_p:
                matrix[none, region.label] += 1
        for t, region in enumerate(truths):
            if t not in used_t:
                matrix[region.label, none] += 1
    return matrix


def label_set_confusion(
    run: Mapping[str, Sequence[str]], truth: Mapping[str, Sequence[str]], top: int = 20
) -> tuple[list[str], np.ndarray]:
    """Multi-label (concept) confusion matrix over the `top` most frequent true labels.

    A label both true and predicted for an image counts on the diagonal, one predicted but not true
    in the "none" row, one true but not predicted in the "none" column (labels compared uppercased,
    as the concept evaluator does; images with empty truth are skipped, as it skips them).

    Returns:
        The labels (most frequent first, ties by name) and the (len + 1) square matrix.
    """
    counts = Counter(c.upper() for labels in truth.values() for c in labels if c)
    labels = [label for label, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]]
    index = {label: i for i, label in enumerate(labels)}
    none = len(labels)
    matrix = np.zeros((none + 1, none + 1), np.int64)
    for image_id, true_labels in truth.items():
        expected = {c.upper() for c in true_labels if c}
        if not expected:
            continue
        predicted = {c.upper() for c in run.get(image_id, ()) if c}
        for label in expected & predicted:
            if label in index:
                matrix[index[label], index[label]] += 1
        for label in predicted - expected:
            if label in index:
                matrix[none, index[label]] += 1
        for label in expected - predicted:
            if label in index:
                matrix[index[label], none] += 1
    return labels, matrix
