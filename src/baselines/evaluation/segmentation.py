"""Polygon scores: COCO-style mask mAP at an IoU threshold (pycocotools on run-length encodings), and the
coral organisers' pixel IoU (one label map per image; intersections and unions pooled over images).

The pixel IoU follows aCampello/clef_coral `pixel_accuracy.py` (the ImageCLEFcoral organisers' code):
each image becomes ONE map of labels, substrates drawn one after the other in the organisers' order, so
where two substrates overlap the later one owns the pixel; all polygons of a substrate are filled by one
OpenCV call, which leaves the overlap of two of them unfilled (a hole), as the organisers' code does.
Its 3024-pixel-wide canvas and the digit its reader cuts off a last line without a newline are bugs
that are not copied: the canvas here is the image's own size (docs/evaluation.md).

Both pixel IoUs are a per-image step (`label_map_counts`, `class_mask_counts`: pixel counts per label)
and a sum of those counts over the images; each image's counts are drawn once per truth, run and canvas
(`_counted`), so the resamples of `baselines compare` only add them up.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from baselines.evaluation.coco import MAX_DETECTIONS, region_average_precision
from baselines.io.polygons import Sizes, canvas_size, fill_polygons, unflat
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

    A polygon of 3 or more vertices without area is an empty mask, as pycocotools draws it; polygons of
    1 or 2 vertices are left out (pycocotools reads 2 vertices as a box and refuses 1). An image of
    ground_truth without regions counts its detections as false positives (`region_average_precision`).

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

    The images are those of ground_truth that hold a region, as the organisers' script loops over the
    images of its ground-truth file (which names an image only on a region's line): an image without
    ground-truth regions (a reference image `RegionSpec` adds for the mAP) is not drawn, and predictions
    for other images are ignored. A ground-truth image without predictions is all background on the
    prediction side. Confidences are ignored.
    Each image's counts come from `label_map_counts` (drawn once per truth, run and canvas: `_counted`).
    """
    intersection = dict.fromkeys(draw_order, 0)
    union = dict.fromkeys(draw_order, 0)
    for image_id, truth in ground_truth.items():
        if not truth:
            continue
        preds = predictions.get(image_id, ())
        width, height = canvas_size(image_id, sizes, [*truth, *preds])
        counts = _counted(label_map_counts, truth, preds, height, width, tuple(draw_order))
        for label, value in counts.intersection.items():
            intersection[label] += value
        for label, value in counts.union.items():
            union[label] += value
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
    over images: sum of intersections / sum of unions. Classes absent from both sides are left out;
    images are those of `pixel_iou`.

    Not the organisers' metric (see `pixel_iou`): reported beside it to show what class overlaps cost.
    Each image's counts come from `class_mask_counts` (drawn once per truth, run and canvas: `_counted`).
    """
    intersection = np.zeros(num_classes, np.int64)
    union = np.zeros(num_classes, np.int64)
    for image_id, truth in ground_truth.items():
        if not truth:
            continue  # not an image of the ground-truth file, as in pixel_iou
        preds = predictions.get(image_id, ())
        width, height = canvas_size(image_id, sizes, [*truth, *preds])
        counts = _counted(class_mask_counts, truth, preds, height, width)
        for label, value in counts.intersection.items():
            intersection[label] += value
        for label, value in counts.union.items():
            union[label] += value
    return {label: float(intersection[label] / union[label]) for label in range(num_classes) if union[label]}


@dataclass(frozen=True)
class PixelCounts:
    """One image's pixels per label: what the pixel IoUs sum over images before dividing.

    Attributes:
        intersection: label -> pixels where truth and prediction both have the label.
        union: label -> pixels where either has it. Both hold the labels of the image's regions (either
            side) that are drawn, and are read-only (`_counted` shares them between calls).
    """

    intersection: Mapping[int, int]
    union: Mapping[int, int]


def label_map_counts(
    truth: Sequence[Region], predictions: Sequence[Region], height: int, width: int, draw_order: Sequence[int]
) -> PixelCounts:
    """`pixel_iou`'s per-image step: each side's `label_map`, compared label by label."""
    true_map = label_map(truth, height, width, draw_order)
    pred_map = label_map(predictions, height, width, draw_order)
    intersection, union = {}, {}
    for label in ({r.label for r in truth} | {r.label for r in predictions}) & set(draw_order):
        true_mask, pred_mask = true_map == label + 1, pred_map == label + 1
        intersection[label] = int(np.count_nonzero(true_mask & pred_mask))
        union[label] = int(np.count_nonzero(true_mask | pred_mask))
    return PixelCounts(MappingProxyType(intersection), MappingProxyType(union))


def class_mask_counts(truth: Sequence[Region], predictions: Sequence[Region], height: int, width: int) -> PixelCounts:
    """`independent_pixel_iou`'s per-image step: one mask per label and side, no label over another."""
    intersection, union = {}, {}
    for label in {r.label for r in truth} | {r.label for r in predictions}:
        true_mask = fill_polygons([unflat(r.polygon) for r in truth if r.label == label], height, width) > 0
        pred_mask = fill_polygons([unflat(r.polygon) for r in predictions if r.label == label], height, width) > 0
        intersection[label] = int(np.count_nonzero(true_mask & pred_mask))
        union[label] = int(np.count_nonzero(true_mask | pred_mask))
    return PixelCounts(MappingProxyType(intersection), MappingProxyType(union))


COUNTS_KEPT = 1 << 16
"""Per-image counts `_counted` keeps (the least recently used go first): a few hundred bytes each, and
room for every image of several runs, so a bootstrap's resamples (which draw ~63% of the images each,
in random order) find them all."""

_counts: OrderedDict[bytes, PixelCounts] = OrderedDict()


def _counted(
    step: Callable[..., PixelCounts],
    truth: Sequence[Region],
    predictions: Sequence[Region],
    height: int,
    width: int,
    *extra: Any,
) -> PixelCounts:
    """step(truth, predictions, height, width, *extra), computed once per distinct input.

    `baselines compare` scores every image of every run in hundreds of resamples, and drawing a
    4032x3024 image's masks (~0.1 s) dominated its time. The key is a digest of everything the steps
    read (the regions' labels and vertices, in order, the canvas and extra; not confidences or boxes),
    so a hit returns exactly what the step would compute, whatever the image is called.
    """
    digest = hashlib.blake2b(repr((step.__name__, height, width, extra, len(truth))).encode(), digest_size=20)
    for region in (*truth, *predictions):
        vertices = np.asarray(region.polygon, np.float64)
        digest.update(np.asarray([region.label, vertices.size], np.int64).tobytes())
        digest.update(vertices.tobytes())
    key = digest.digest()
    counts = _counts.get(key)
    if counts is None:
        counts = _counts[key] = step(truth, predictions, height, width, *extra)
        if len(_counts) > COUNTS_KEPT:
            _counts.popitem(last=False)
    else:
        _counts.move_to_end(key)
    return counts


@dataclass(frozen=True)
class ImagePixels:
    """Each image's pixel counts per label (rows: the images of ground_truth in order; columns: labels),
    what `pixel_iou` and `independent_pixel_iou` sum over images. An image without ground-truth regions
    is not drawn and counts 0, as in those two.

    Attributes:
        intersection, union: `label_map_counts`, per label.
        independent_intersection, independent_union: `class_mask_counts`, per label.
    """

    intersection: np.ndarray
    union: np.ndarray
    independent_intersection: np.ndarray
    independent_union: np.ndarray


def image_pixels(
    predictions: Mapping[str, Sequence[Region]],
    ground_truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    draw_order: Sequence[int],
    num_classes: int,
) -> ImagePixels:
    """Every image's counts, drawn once (`_counted`): a bootstrap resample only adds rows up (`pixel_scores`)."""
    columns = max(num_classes, max(draw_order, default=-1) + 1)
    arrays = [np.zeros((len(ground_truth), columns), np.int64) for _ in range(4)]
    for row, (image_id, truth) in enumerate(ground_truth.items()):
        if not truth:
            continue
        preds = predictions.get(image_id, ())
        width, height = canvas_size(image_id, sizes, [*truth, *preds])
        mapped = _counted(label_map_counts, truth, preds, height, width, tuple(draw_order))
        independent = _counted(class_mask_counts, truth, preds, height, width)
        for array, counts in zip(arrays, (mapped.intersection, mapped.union, independent.intersection,
                                          independent.union), strict=True):  # fmt: skip
            for label, value in counts.items():
                array[row, label] = value
    return ImagePixels(*arrays)


def pixel_scores(
    pixels: ImagePixels, draw_order: Sequence[int], num_classes: int, order: np.ndarray | None = None
) -> tuple[PixelIoU, dict[int, float]]:
    """`pixel_iou` and `independent_pixel_iou` over the images order (row indices, repeats counted;
    default all): the same sums of integers, so the same numbers."""

    def summed(array: np.ndarray) -> list[int]:
        return [int(v) for v in (array if order is None else array[order]).sum(axis=0)]

    intersection, union = summed(pixels.intersection), summed(pixels.union)
    per_class = {label: intersection[label] / union[label] for label in draw_order if union[label]}
    total_union = sum(union[label] for label in draw_order)
    pooled = sum(intersection[label] for label in draw_order) / total_union if total_union else 0.0
    both = summed(pixels.independent_intersection), summed(pixels.independent_union)
    independent = {label: both[0][label] / both[1][label] for label in range(num_classes) if both[1][label]}
    return PixelIoU(per_class, pooled), independent
