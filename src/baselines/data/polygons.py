"""Polygons <-> masks: rasterising ground truth for training and scoring, vectorising predicted masks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from baselines.types import Region


def fill_polygons(
    polygons: Iterable[np.ndarray], height: int, width: int, value: float = 1, out: np.ndarray | None = None
) -> np.ndarray:
    """Draws filled polygons ((N, 2) vertex arrays, pixels) into a new uint8 mask, or into out (any dtype:
    value is written as that dtype, e.g. a float score into a float32 map)."""
    mask = np.zeros((height, width), np.uint8) if out is None else out
    shapes = [np.round(np.asarray(p, np.float64)).astype(np.int32).reshape(-1, 1, 2) for p in polygons]
    if shapes:
        cv2.fillPoly(mask, shapes, float(value))
    return mask


def mask_to_polygons(mask: np.ndarray, epsilon: float = 1.0, min_area: float = 4.0) -> list[np.ndarray]:
    """Outer contours of a binary mask as simplified polygons ((N, 2) float arrays, N >= 3).

    Args:
        mask: Binary mask (any dtype; non-zero is inside).
        epsilon: Douglas-Peucker tolerance in pixels (0 keeps every contour vertex).
        min_area: Components with a smaller contour area are dropped (speckle).
    """
    contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        if cv2.contourArea(contour) < min_area:
            continue
        simple = cv2.approxPolyDP(contour, epsilon, True) if epsilon > 0 else contour
        if len(simple) >= 3:
            polygons.append(simple.reshape(-1, 2).astype(np.float32))
    return polygons


def scored_polygons(
    mask: np.ndarray, score_map: np.ndarray, epsilon: float = 1.0, min_area: float = 4.0
) -> list[tuple[np.ndarray, float]]:
    """The components of a binary mask as polygons (mask_to_polygons), each scored by the mean of
    score_map over its pixels that are in the mask (0 if none are).

    Args:
        mask: Binary mask (non-zero is inside).
        score_map: Scores of the mask's pixels, of the mask's shape.
        epsilon, min_area: As for mask_to_polygons.
    """
    mask = np.asarray(mask) > 0
    scored = []
    for polygon in mask_to_polygons(mask, epsilon, min_area):
        # rasterised within its bounding box only: a full canvas per component costs a full image each
        x0, y0 = np.floor(polygon.min(0)).astype(int)
        x1, y1 = np.ceil(polygon.max(0)).astype(int) + 1
        inside = fill_polygons([polygon - [x0, y0]], y1 - y0, x1 - x0) > 0
        pixels = inside & mask[y0:y1, x0:x1]
        score = float(score_map[y0:y1, x0:x1][pixels].mean()) if pixels.any() else 0.0
        scored.append((polygon, score))
    return scored


def flat(polygon: np.ndarray) -> tuple[float, ...]:
    """(N, 2) vertices -> (x1, y1, x2, y2, ...), the run-file order."""
    return tuple(float(v) for v in np.asarray(polygon).reshape(-1))


def unflat(coords: Sequence[float]) -> np.ndarray:
    return np.asarray(coords, np.float64).reshape(-1, 2)


Sizes = Mapping[str, tuple[int, int] | None]


def canvas_size(image_id: str, sizes: Sizes, regions: Sequence[Region]) -> tuple[int, int]:
    """(width, height): the known size, else the extent of the regions."""
    known = sizes.get(image_id)
    if known is not None:
        return known
    width = max((r.box[2] for r in regions), default=0)
    height = max((r.box[3] for r in regions), default=0)
    return max(int(np.ceil(width)) + 1, 1), max(int(np.ceil(height)) + 1, 1)


def xywh(region: Region) -> list[float]:
    """A region's box as COCO writes it: [x, y, width, height]."""
    x0, y0, x1, y1 = region.box
    return [x0, y0, x1 - x0, y1 - y0]


def polygon_rle(region: Region, height: int, width: int) -> dict[str, Any]:
    rles = mask_utils.frPyObjects([list(region.polygon)], height, width)
    rle = mask_utils.merge(rles)
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def drawable(region: Region) -> bool:
    """Whether pycocotools can rasterise a region's polygon: at least 3 vertices (it reads 2 as a box
    and refuses 1). Whether they span an area does not matter: without one, the mask is empty."""
    return len(region.polygon) >= 6


def has_area(points: np.ndarray) -> bool:
    """Whether (N, 2) vertices span an area: at least 3 distinct vertices, not all on one line.

    Polygons without one (a point, a segment, vertices on one line) are what the
    coral reader counts as degenerate and what training skips; scoring keeps them (`drawable`: from 3
    vertices pycocotools draws them as an empty mask). Empty input has no area.
    """
    if len(points) < 3 or len(np.unique(points, axis=0)) < 3:
        return False
    offsets = np.asarray(points, np.float64) - points[0]
    return bool(np.linalg.matrix_rank(offsets) == 2)  # not all on one line, whatever its slope
