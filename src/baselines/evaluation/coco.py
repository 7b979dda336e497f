"""COCO-style average precision at one IoU threshold, computed by pycocotools itself.

Both the box tasks (drawnUI, coral subtask 1) and the polygon task (coral subtask 2) are scored
here, so their numbers are the ones `pycocotools.cocoeval.COCOeval` prints for the same files
(101-point interpolated precision, the mean over the classes that have ground truth, at most
`MAX_DETECTIONS` detections per image and class, COCO's default). The organisers' mAP code is not
public; COCOeval with its default parameters is the reference (tests/conformance/drawnui).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

IouType = Literal["bbox", "segm"]

MAX_DETECTIONS = 100
"""COCOeval's default `maxDets` (the last of [1, 10, 100]): detections kept per image and class, the
most confident first. No released coral or drawnUI image comes near it in ground truth (coral
training: at most 66 substrates of one class in an image, 96 in all; docs/evaluation.md)."""


def coco_average_precision(
    images: Sequence[dict[str, Any]],
    annotations: Sequence[dict[str, Any]],
    results: Sequence[dict[str, Any]],
    iou_type: IouType,
    iou_threshold: float,
    max_detections: int = MAX_DETECTIONS,
) -> dict[str, Any]:
    """Runs COCOeval on in-memory COCO records.

    Args:
        images: COCO `images` entries (`id`, `width`, `height`).
        annotations: Ground-truth COCO annotations (category ids are the task's labels + 1).
        results: Detections in COCO results format (`image_id`, `category_id`, `score`, `bbox`/`segmentation`).
        iou_type: "bbox" or "segm".
        iou_threshold: The one IoU threshold.
        max_detections: Detections kept per image and class (COCO keeps the highest-scoring ones).

    Returns:
        `map` (mean AP over classes with ground truth; 0 without ground truth or detections),
        `recall` (mean over those classes), `per_class` {label: AP} and `curves` {label: interpolated
        precision at the recall points of `recall_points`} (the curves COCOeval averages; empty
        without ground truth or detections).
    """
    if not annotations or not results:
        labels = sorted({a["category_id"] - 1 for a in annotations})
        return {"map": 0.0, "recall": 0.0, "per_class": dict.fromkeys(labels, 0.0), "curves": {}, "recall_points": []}
    categories = sorted({a["category_id"] for a in annotations} | {r["category_id"] for r in results})
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress and timings
        truth = COCO()
        truth.dataset = {
            "images": list(images),
            "annotations": list(annotations),
            "categories": [{"id": c} for c in categories],
        }
        truth.createIndex()
        detections = truth.loadRes(list(results))
        evaluator = COCOeval(truth, detections, iou_type)
        evaluator.params.iouThrs = np.array([iou_threshold])
        evaluator.params.areaRng = [[0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.params.maxDets = [max_detections]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][0, :, :, 0, 0]  # recall points x categories
    recall = evaluator.eval["recall"][0, :, 0, 0]
    per_class = {
        category - 1: float(precision[:, k].mean())
        for k, category in enumerate(evaluator.params.catIds)
        if np.all(precision[:, k] > -1)
    }
    valid = precision > -1
    return {
        "map": float(precision[valid].mean()) if valid.any() else 0.0,
        "recall": float(recall[recall > -1].mean()) if np.any(recall > -1) else 0.0,
        "per_class": per_class,
        "curves": {label: precision[:, k].copy() for k, label in enumerate(c - 1 for c in evaluator.params.catIds)},
        "recall_points": evaluator.params.recThrs.copy(),
    }
