"""Region runs (drawnUI, coral): boxes by weighted boxes fusion, polygons pixel-wise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from baselines.ensemble.base import FusionContext, Member, common_ids, normalised_weights, register
from baselines.ensemble.wbf import weighted_boxes_fusion_pixels
from baselines.io.polygons import canvas_size, fill_polygons, flat, scored_polygons, unflat
from baselines.types import ImageSet, Region


def _extent(members: Sequence[Member], image_id: str) -> tuple[float, float]:
    """The largest x and y any run reaches on an image (at least 1)."""
    regions = [r for m in members for r in m.parsed[image_id]]
    width = max((r.box[2] for r in regions), default=1.0)
    height = max((r.box[3] for r in regions), default=1.0)
    return max(width, 1.0), max(height, 1.0)


def _size(context: FusionContext, members: Sequence[Member], image_id: str, missing: list[str]) -> tuple[float, float]:
    reference = context.reference
    if isinstance(reference, ImageSet) and reference.sizes.get(image_id) is not None:
        width, height = reference.sizes[image_id]  # type: ignore[misc]
        return float(width), float(height)
    missing.append(image_id)
    return _extent(members, image_id)


def wbf(
    runs: Sequence[Sequence[Region]],
    weights: Sequence[float],
    size: tuple[float, float],
    iou_threshold: float = 0.55,
    skip_box_threshold: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted boxes fusion of one image's regions from several runs (see weighted_boxes_fusion_pixels)."""
    return weighted_boxes_fusion_pixels(
        [np.array([r.box for r in run], np.float64).reshape(-1, 4) for run in runs],
        [np.array([r.score for r in run], np.float64) for run in runs],
        [np.array([r.label for r in run], np.int64) for run in runs],
        weights,
        size,
        iou_threshold,
        skip_box_threshold,
    )


@register("boxes")
def fuse_boxes(members: Sequence[Member], context: FusionContext) -> list[dict[str, Any]]:
    """drawnUI and coral boxes: weighted boxes fusion per image."""
    options = context.options
    weights = [m.weight for m in members]
    missing: list[str] = []
    predictions = []
    for image_id in common_ids(members):
        size = _size(context, members, image_id, missing)
        boxes, scores, labels = wbf(
            [m.parsed[image_id] for m in members], weights, size, options.iou_threshold, options.skip_box_threshold
        )
        predictions.append({"id": image_id, "boxes": boxes, "scores": scores, "labels": labels})
    if missing:
        context.notes.append(
            f"{len(missing)} images without a known size (give --images): their boxes were normalised by the "
            "runs' extent on the image instead, which fuses the same (IoU is unchanged by a per-axis scale)"
        )
    return predictions


def fuse_masks(
    runs: Sequence[Sequence[Region]],
    weights: Sequence[float],
    size: tuple[int, int],
    label: int,
    threshold: float = 0.5,
    epsilon: float = 1.0,
    min_area: float = 4.0,
) -> list[Region]:
    """Pixel-wise fusion of one class's polygons on one image.

    Each source's polygons are rasterised; a pixel is kept where the sources covering it hold at least
    `threshold` of the (normalised) weight; kept components become polygons again, each scored by the
    weighted mean over sources of their confidence on its pixels (a source's highest-scored polygon at a
    pixel counts, a source not covering it adds 0).
    """
    width, height = size
    vote = np.zeros((height, width), np.float32)
    confidence = np.zeros((height, width), np.float32)
    for run, weight in zip(runs, weights, strict=True):
        cover = np.zeros((height, width), np.float32)
        scores = np.zeros((height, width), np.float32)
        # one polygon per call: cv2.fillPoly given several contours leaves their overlap unfilled (even-odd)
        for region in sorted((r for r in run if r.label == label), key=lambda r: r.score):
            fill_polygons([unflat(region.polygon)], height, width, 1.0, out=cover)
            # ascending order: the highest score wins
            fill_polygons([unflat(region.polygon)], height, width, region.score, out=scores)
        vote += weight * cover
        confidence += weight * scores
    kept = vote >= threshold - 1e-6  # float sums of weights such as 3 x 1/3
    fused = []
    for polygon, score in scored_polygons(kept, confidence, epsilon, min_area):
        box = (*polygon.min(0).tolist(), *polygon.max(0).tolist())
        fused.append(Region(label, min(max(score, 0.0), 1.0), box, flat(polygon)))
    return fused


@register("polygons")
def fuse_polygons(members: Sequence[Member], context: FusionContext) -> list[dict[str, Any]]:
    """Coral pixel-wise parsing: per image and substrate, rasterise, average, threshold, vectorise."""
    options = context.options
    weights = normalised_weights(members)
    missing: list[str] = []
    predictions = []
    for image_id in common_ids(members):
        width, height = _size(context, members, image_id, missing)
        runs = [m.parsed[image_id] for m in members]
        if image_id in missing:  # a guessed canvas: refused beyond MAX_GUESSED_CANVAS_PIXELS before any raster
            canvas_size(image_id, {}, [r for run in runs for r in run])
        regions: list[Region] = []
        for label in sorted({r.label for run in runs for r in run}):
            regions += fuse_masks(
                runs,
                weights,
                (int(np.ceil(width)) + 1, int(np.ceil(height)) + 1),  # + 1: a vertex at x = width is a pixel
                label,
                options.threshold,
                options.polygon_epsilon,
                options.min_area,
            )
        predictions.append(
            {
                "id": image_id,
                "boxes": np.array([r.box for r in regions], np.float64).reshape(-1, 4),
                "scores": np.array([r.score for r in regions]),
                "labels": np.array([r.label for r in regions], np.int64),
                "polygons": [r.polygon for r in regions],
            }
        )
    if missing:
        context.notes.append(
            f"{len(missing)} images without a known size (give --images): polygons were rasterised on a canvas "
            "as large as the runs' extent, which changes nothing (no run covers a pixel beyond it)"
        )
    return predictions
