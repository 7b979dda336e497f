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


MAX_GUESSED_CANVAS_PIXELS = 4096 * 4096
"""The largest canvas guessed from a run's regions when an image's size is unknown: above every official image
(coral, 4032x3024). A vertex far off (one at 12000 asks for 144 M pixels per raster) is then refused, not
rasterised; with the images (`--images`) the real size is used and this cap does not apply."""


class CanvasTooLarge(ValueError):
    """A region reaches so far that rasterising its image would take more memory than any real image needs."""


def canvas_size(image_id: str, sizes: Sizes, regions: Sequence[Region]) -> tuple[int, int]:
    """(width, height): the known size, else the extent of the regions (at most MAX_GUESSED_CANVAS_PIXELS).

    Raises:
        CanvasTooLarge: Naming the image, the extent and the cap, when a guessed canvas exceeds it.
    """
    known = sizes.get(image_id)
    if known is not None:
        return known
    right = max((r.box[2] for r in regions), default=0)
    bottom = max((r.box[3] for r in regions), default=0)
    width, height = max(int(np.ceil(right)) + 1, 1), max(int(np.ceil(bottom)) + 1, 1)
    if width * height > MAX_GUESSED_CANVAS_PIXELS:
        raise CanvasTooLarge(
            f"image {image_id!r}: its regions reach ({right:g}, {bottom:g}), a {width}x{height} canvas of more than "
            f"{MAX_GUESSED_CANVAS_PIXELS:,} pixels (the cap on a canvas guessed without the image, larger than "
            "any official image): a vertex far off the image? Give --images <test image folder> to use the real "
            "sizes (capped by max_image_pixels)"
        )
    return width, height


def clip_to_canvas(points: np.ndarray, width: int, height: int, margin: float | None = None) -> np.ndarray:
    """(N, 2) vertices clipped (Sutherland-Hodgman) to the canvas plus a margin (by default 4 times its longer
    side), only when some lie beyond it: else the very same array is returned.

    A vertex at 999999999 then no longer overflows pycocotools' integer rasteriser (a crash) nor makes it walk a
    billion-pixel edge. The clipped polygon covers the same area of the canvas (its added edges run outside it);
    pycocotools rounds the moved edges on its 5x grid, so a few boundary pixels may differ from an unclipped
    raster, which only a vertex that far off (a mistake) ever causes. Hand-written: neither OpenCV nor
    pycocotools clips a non-convex polygon to a rectangle.
    """
    points = np.asarray(points, np.float64).reshape(-1, 2)
    margin = 4.0 * max(width, height) + 16 if margin is None else margin
    low, high = -margin, np.array([width + margin, height + margin])
    if len(points) == 0 or (points.min() >= low and (points <= high).all()):
        return points
    polygon = [tuple(p) for p in points]
    for axis, bound, keep_below in ((0, low, False), (0, high[0], True), (1, low, False), (1, high[1], True)):
        inside = lambda p, a=axis, b=bound, k=keep_below: p[a] <= b if k else p[a] >= b  # noqa: E731
        clipped: list[tuple[float, float]] = []
        for k, current in enumerate(polygon):
            previous = polygon[k - 1]
            if inside(current) != inside(previous):
                t = (bound - previous[axis]) / (current[axis] - previous[axis])
                crossing = [previous[0] + t * (current[0] - previous[0]), previous[1] + t * (current[1] - previous[1])]
                crossing[axis] = bound
                clipped.append((crossing[0], crossing[1]))
            if inside(current):
                clipped.append(current)
        polygon = clipped
        if not polygon:
            break
    return np.asarray(polygon, np.float64).reshape(-1, 2)


def xywh(region: Region) -> list[float]:
    """A region's box as COCO writes it: [x, y, width, height]."""
    x0, y0, x1, y1 = region.box
    return [x0, y0, x1 - x0, y1 - y0]


def polygon_rle(region: Region, height: int, width: int) -> dict[str, Any]:
    """The region's polygon as a compressed RLE of a height x width canvas (vertices far beyond it clipped
    first, see clip_to_canvas)."""
    coords: Sequence[float] = region.polygon
    points = unflat(coords)
    clipped = clip_to_canvas(points, width, height)
    if clipped is not points:
        coords = [float(v) for v in (clipped if len(clipped) >= 3 else np.zeros((3, 2))).reshape(-1)]
    rles = mask_utils.frPyObjects([list(coords)], height, width)
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
