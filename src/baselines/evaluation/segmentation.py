"""Polygon scores: COCO-style mask mAP at an IoU threshold (pycocotools on run-length encodings) and
per-class pixel IoU pooled over images (intersections and unions summed before dividing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from baselines.data.polygons import fill_polygons, unflat
from baselines.evaluation.coco import coco_average_precision
from baselines.types import Region

Sizes = Mapping[str, tuple[int, int] | None]


def _size(image_id: str, sizes: Sizes, regions: Sequence[Region]) -> tuple[int, int]:
    """(width, height): the known size, else the extent of the regions (run files never leave the image)."""
    known = sizes.get(image_id)
    if known is not None:
        return known
    width = max((r.box[2] for r in regions), default=0)
    height = max((r.box[3] for r in regions), default=0)
    return int(np.ceil(width)) + 1, int(np.ceil(height)) + 1


def _rle(region: Region, height: int, width: int) -> dict:
    rles = mask_utils.frPyObjects([list(region.polygon)], height, width)
    rle = mask_utils.merge(rles)
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def polygon_map(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    iou_threshold: float = 0.5,
) -> dict[str, float]:
    """Mask mAP and mean recall at one IoU threshold, COCO conventions (101-point interpolation, mean
    over classes that have ground truth, up to 1000 detections per image).

    Returns:
        `map` and `recall`.
    """
    images: list[dict] = []
    annotations: list[dict] = []
    results: list[dict] = []
    labels: set[int] = set()
    for number, (image_id, truth) in enumerate(ground_truth.items(), start=1):
        preds = predictions.get(image_id, ())
        width, height = _size(image_id, sizes, [*truth, *preds])
        images.append({"id": number, "width": width, "height": height})
        for region in truth:
            rle = _rle(region, height, width)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": number,
                    "category_id": region.label + 1,
                    "segmentation": rle,
                    "area": float(mask_utils.area(rle)),
                    "bbox": list(mask_utils.toBbox(rle)),
                    "iscrowd": 0,
                }
            )
            labels.add(region.label)
        for region in preds:
            results.append(
                {
                    "image_id": number,
                    "category_id": region.label + 1,
                    "segmentation": _rle(region, height, width),
                    "score": region.score,
                }
            )
            labels.add(region.label)
    scores = coco_average_precision(images, annotations, results, "segm", iou_threshold)
    return {"map": scores["map"], "recall": scores["recall"]}


def pixel_iou(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    num_classes: int,
    min_score: float = 0.0,
) -> dict[int, float]:
    """Per-class pixel IoU pooled over images: sum of intersections / sum of unions.

    Predicted regions below min_score are ignored. Classes absent from both sides are left out.
    """
    intersection = np.zeros(num_classes, np.int64)
    union = np.zeros(num_classes, np.int64)
    for image_id, truth in ground_truth.items():
        preds = [r for r in predictions.get(image_id, ()) if r.score >= min_score]
        width, height = _size(image_id, sizes, [*truth, *preds])
        for label in {r.label for r in truth} | {r.label for r in preds}:
            true_mask = fill_polygons([unflat(r.polygon) for r in truth if r.label == label], height, width) > 0
            pred_mask = fill_polygons([unflat(r.polygon) for r in preds if r.label == label], height, width) > 0
            intersection[label] += int(np.count_nonzero(true_mask & pred_mask))
            union[label] += int(np.count_nonzero(true_mask | pred_mask))
    return {label: float(intersection[label] / union[label]) for label in range(num_classes) if union[label]}
