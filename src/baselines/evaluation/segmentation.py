"""Polygon scores: COCO-style mask mAP at an IoU threshold (pycocotools on run-length encodings), and the
coral organisers' pixel IoU (one label map per image; intersections and unions pooled over images).

The pixel IoU follows aCampello/clef_coral `pixel_accuracy.py` (the ImageCLEFcoral organisers' code):
each image becomes ONE map of labels, substrates drawn one after the other in the organisers' order, so
where two substrates overlap the later one owns the pixel; all polygons of a substrate are filled by one
OpenCV call, which leaves the overlap of two of them unfilled (a hole), as the organisers' code does.
Its 3024-pixel-wide canvas and the digit its reader cuts off a last line without a newline are bugs
that are not copied: the canvas here is the image's own size (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from baselines.data.polygons import Sizes, canvas_size, fill_polygons, unflat
from baselines.evaluation.coco import MAX_DETECTIONS, region_average_precision
from baselines.types import Region


def polygon_map(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    iou_threshold: float = 0.5,
    max_detections: int = MAX_DETECTIONS,
) -> dict[str, float]:
    """Mask mAP and mean recall at one IoU threshold, COCO conventions (101-point interpolation, mean
    over classes that have ground truth, max_detections per image and class).

    Polygons without area (fewer than 3 distinct vertices) are left out: pycocotools cannot rasterise
    them (it reads a 2-vertex polygon as a box).

    Returns:
        `map` and `recall`.
    """
    scores = region_average_precision(predictions, ground_truth, sizes, "polygon", iou_threshold, max_detections)
    return {"map": scores["map"], "recall": scores["recall"]}


def label_map(regions: Sequence[Region], height: int, width: int, draw_order: Sequence[int]) -> np.ndarray:
    """One label per pixel: 0 background, `label + 1` where a region of that label is drawn.

    Labels are drawn in draw_order, so a later one overwrites an earlier one where they overlap; the
    polygons of one label are filled together (OpenCV leaves the overlap of two of them unfilled).
    Labels missing from draw_order are not drawn. Vertices off the image are clipped.
    """
    if max(draw_order, default=0) >= 255:
        raise ValueError("label_map draws at most 255 labels")
    out = np.zeros((height, width), np.uint8)
    for label in draw_order:
        polygons = [unflat(r.polygon) for r in regions if r.label == label]
        if polygons:
            fill_polygons(polygons, height, width, label + 1, out=out)
    return out


@dataclass(frozen=True)
class PixelIoU:
    """The organisers' pixel scores.

    Attributes:
        per_class: label -> intersection / union, both summed over images, for labels whose union is
            not empty (the organisers' script prints 0.0 for the others; here they are left out).
        pooled: The sum of intersections over the sum of unions, across labels and images (the
            organisers' "average"; 0.0 when nothing is drawn on either side).
    """

    per_class: dict[int, float]
    pooled: float


def pixel_iou(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    draw_order: Sequence[int],
) -> PixelIoU:
    """Pixel IoU as the coral organisers compute it, on label maps (`label_map`) of each image's size.

    The images are those of ground_truth; a ground-truth image without predictions is all background
    on the prediction side; predictions for other images are ignored. Confidences are ignored.
    """
    drawn = set(draw_order)
    intersection = dict.fromkeys(draw_order, 0)
    union = dict.fromkeys(draw_order, 0)
    for image_id, truth in ground_truth.items():
        preds = predictions.get(image_id, ())
        width, height = canvas_size(image_id, sizes, [*truth, *preds])
        true_map = label_map(truth, height, width, draw_order)
        pred_map = label_map(preds, height, width, draw_order)
        for label in ({r.label for r in truth} | {r.label for r in preds}) & drawn:
            true_mask, pred_mask = true_map == label + 1, pred_map == label + 1
            intersection[label] += int(np.count_nonzero(true_mask & pred_mask))
            union[label] += int(np.count_nonzero(true_mask | pred_mask))
    per_class = {label: intersection[label] / union[label] for label in draw_order if union[label]}
    total_union = sum(union.values())
    pooled = sum(intersection.values()) / total_union if total_union else 0.0
    return PixelIoU(per_class, pooled)


def independent_pixel_iou(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    num_classes: int,
) -> dict[int, float]:
    """Per-class pixel IoU with an independent mask per class (no class overwrites another), pooled
    over images: sum of intersections / sum of unions. Classes absent from both sides are left out.

    Not the organisers' metric (see `pixel_iou`): reported beside it to show what class overlaps cost.
    """
    intersection = np.zeros(num_classes, np.int64)
    union = np.zeros(num_classes, np.int64)
    for image_id, truth in ground_truth.items():
        preds = predictions.get(image_id, ())
        width, height = canvas_size(image_id, sizes, [*truth, *preds])
        for label in {r.label for r in truth} | {r.label for r in preds}:
            true_mask = fill_polygons([unflat(r.polygon) for r in truth if r.label == label], height, width) > 0
            pred_mask = fill_polygons([unflat(r.polygon) for r in preds if r.label == label], height, width) > 0
            intersection[label] += int(np.count_nonzero(true_mask & pred_mask))
            union[label] += int(np.count_nonzero(true_mask | pred_mask))
    return {label: float(intersection[label] / union[label]) for label in range(num_classes) if union[label]}
