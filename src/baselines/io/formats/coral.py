"""ImageCLEFcoral 2020 annotations: one reading that keeps the file's geometry, and a cleaning step for training.

Files are space-separated without a header, one region per line:

- boxes:    `img_id idx class 1 a b c d` where (a, b, c, d) are in practice (xmin, ymax, xmax, ymin);
  the reader takes min/max, so either order works.
- polygons: `img_id idx class 1 x1 y1 x2 y2 ...`.

Quirks of the released files, counted (`CoralParseReport`): -1 coordinates, polygons with fewer than 3
distinct vertices or no extent, boxes of zero width or height.

`read_coral_annotations` keeps every region as written: what the official tools see, so what every scorer
and validator reads. A box at -1 stays at -1 and a zero-width box stays a ground truth nothing can match, as
in pycocotools' COCOeval; a polygon keeps its -1 vertices (OpenCV clips them when the organisers'
evaluator, aCampello/clef_coral `pixel_accuracy.py`, fills it; pycocotools clips them when it rasterises)
and a polygon without area stays (a point or a line in the pixel IoU, an empty mask in the mask mAP).
`clean_for_training` (what `parse_coral_annotations` returns) fixes them for training instead: a polygon
vertex at -1 is dropped, a box coordinate at -1 clipped to 0, degenerate polygons and boxes are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from baselines.errors import ProblemCollector
from baselines.io.lines import read_lines
from baselines.io.polygons import has_area

log = logging.getLogger(__name__)

CORAL_CLASSES: tuple[str, ...] = (
    "c_hard_coral_branching",
    "c_hard_coral_submassive",
    "c_hard_coral_boulder",
    "c_hard_coral_encrusting",
    "c_hard_coral_table",
    "c_hard_coral_foliose",
    "c_hard_coral_mushroom",
    "c_soft_coral",
    "c_soft_coral_gorgonian",
    "c_sponge",
    "c_sponge_barrel",
    "c_fire_coral_millepora",
    "c_algae_macro_or_leaves",
)

AnnotationKind = Literal["box", "polygon"]


@dataclass(frozen=True)
class CoralRegion:
    """One annotated substrate.

    Attributes:
        label: Index into CORAL_CLASSES.
        box: (xmin, ymin, xmax, ymax) in pixels.
        polygon: (N, 2) vertices for polygon annotations, else an empty array.
    """

    label: int
    box: tuple[float, float, float, float]
    polygon: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))


@dataclass
class CoralParseReport:
    """What the reader met, and for training what it fixed or skipped, so nothing is changed silently.

    Attributes:
        regions: Regions returned.
        negative_coordinates: Regions with a negative coordinate (-1 in the released files): kept as
            written, or fixed for training.
        degenerate_polygons: Polygons with fewer than 3 distinct vertices or no extent: kept as written
            (counted in `regions`), or skipped for training.
        degenerate_boxes: Boxes of zero width or height: kept as written (counted in `regions`), or
            skipped for training.
        cleaned: Whether the regions were cleaned for training (`clean_for_training`).
    """

    regions: int = 0
    negative_coordinates: int = 0
    degenerate_polygons: int = 0
    degenerate_boxes: int = 0
    cleaned: bool = False

    def __str__(self) -> str:
        if not self.cleaned:
            return (
                f"{self.regions} regions read, kept as written (as the official tools see them): "
                f"{self.negative_coordinates} with negative coordinates, {self.degenerate_polygons} polygons "
                f"and {self.degenerate_boxes} boxes without area"
            )
        return (
            f"{self.regions} regions kept for training; {self.negative_coordinates} with -1 coordinates fixed; "
            f"skipped {self.degenerate_polygons} degenerate polygons and {self.degenerate_boxes} degenerate boxes"
        )


def read_coral_annotations(
    path: str | Path, kind: AnnotationKind, classes: Sequence[str] = CORAL_CLASSES
) -> tuple[dict[str, list[CoralRegion]], CoralParseReport]:
    """Reads an official coral box or polygon annotation file, every region as written.

    The reading of every scorer and validator: boxes are (min, max) of the file's corners, negative and
    zero-width ones included; polygons keep every vertex, however few and wherever they lie.

    Args:
        path: The file (CRLF line ends and a missing final newline are fine).
        kind: "box" or "polygon".
        classes: Substrate names; their index becomes `CoralRegion.label`.

    Returns:
        image id -> regions (file order), and the report of what was met.

    Raises:
        FormatError: For lines that do not follow the format (wrong field count, unknown class,
            non-numeric coordinate), each with its line number, and for a file in which no region has an
            area (the wrong kind of file).
    """
    result, report = _read(path, kind, classes)
    if report.negative_coordinates or report.degenerate_polygons or report.degenerate_boxes:
        log.warning("%s: %s", path, report)
    return result, report


def clean_for_training(
    regions: Mapping[str, Sequence[CoralRegion]], kind: AnnotationKind
) -> tuple[dict[str, list[CoralRegion]], CoralParseReport]:
    """The regions as read, fixed for training: -1 box coordinates clipped to 0, -1 polygon vertices
    dropped, boxes and polygons without area skipped. Images keep their key even with no region left.

    Never used for scoring: the official tools see the file as written (`read_coral_annotations`).
    """
    report = CoralParseReport(cleaned=True)
    cleaned: dict[str, list[CoralRegion]] = {}
    for image_id, items in regions.items():
        kept = cleaned.setdefault(image_id, [])
        for region in items:
            fixed = _cleaned(region, kind, report)
            if fixed is not None:
                kept.append(fixed)
                report.regions += 1
    return cleaned, report


def parse_coral_annotations(
    path: str | Path, kind: AnnotationKind, classes: Sequence[str] = CORAL_CLASSES
) -> tuple[dict[str, list[CoralRegion]], CoralParseReport]:
    """Reads an annotation file for training: `read_coral_annotations`, then `clean_for_training`.

    Returns:
        image id -> regions (file order), and the report of fixed and skipped regions.

    Raises:
        FormatError: As `read_coral_annotations`, and when no region is left after cleaning.
    """
    regions, _ = _read(path, kind, classes)
    cleaned, report = clean_for_training(regions, kind)
    if cleaned and not report.regions:
        problems = ProblemCollector(path)
        problems.add(None, f"no usable region for training: every {kind} is degenerate once -1 coordinates are fixed")
        problems.raise_if_any()
    if report.negative_coordinates or report.degenerate_polygons or report.degenerate_boxes:
        log.warning("%s: %s", path, report)
    return cleaned, report


def _read(
    path: str | Path, kind: AnnotationKind, classes: Sequence[str]
) -> tuple[dict[str, list[CoralRegion]], CoralParseReport]:
    problems = ProblemCollector(path)
    class_index = {name: i for i, name in enumerate(classes)}
    report = CoralParseReport()
    result: dict[str, list[CoralRegion]] = {}
    for number, text in read_lines(path, problems):
        fields = text.split()
        minimum = 8 if kind == "box" else 6
        if len(fields) < minimum or (kind == "box" and len(fields) != 8):
            expected = (
                "img_id idx class 1 xmin ymax xmax ymin" if kind == "box" else "img_id idx class 1 x1 y1 x2 y2 ..."
            )
            problems.add(number, f"{len(fields)} space-separated fields; expected '{expected}'")
            continue
        image_id, _, name = fields[0], fields[1], fields[2]
        if name not in class_index:
            problems.add(number, f"unknown substrate {name!r}; expected one of {', '.join(classes)}")
            continue
        try:
            values = np.array([float(v) for v in fields[4:]], dtype=np.float64)
        except ValueError:
            problems.add(number, f"non-numeric coordinate in {' '.join(fields[4:])!r}")
            continue
        if not np.all(np.isfinite(values)):
            problems.add(number, "coordinates must be finite numbers")
            continue
        if kind == "polygon" and len(values) % 2:
            problems.add(number, f"odd number of polygon coordinates ({len(values)}); expected x y pairs")
            continue
        result.setdefault(image_id, []).append(_as_written(class_index[name], values, kind, report))
        report.regions += 1
    usable = report.regions - report.degenerate_polygons - report.degenerate_boxes
    if result and not usable and not problems:
        problems.add(
            None,
            f"no usable region: every {kind} is degenerate"
            + (" (is this the box annotation file?)" if kind == "polygon" else ""),
        )
    problems.raise_if_any()
    return result, report


def _as_written(label: int, values: np.ndarray, kind: AnnotationKind, report: CoralParseReport) -> CoralRegion:
    if np.any(values < 0):
        report.negative_coordinates += 1
    if kind == "box":
        a, b, c, d = (float(v) for v in values)
        box = (min(a, c), min(b, d), max(a, c), max(b, d))
        if not _box_has_area(box):
            report.degenerate_boxes += 1
        return CoralRegion(label, box)
    points = values.reshape(-1, 2)
    if not has_area(points):
        report.degenerate_polygons += 1
    xs, ys = points[:, 0], points[:, 1]
    box = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
    return CoralRegion(label, box, points.astype(np.float32))


def _cleaned(region: CoralRegion, kind: AnnotationKind, report: CoralParseReport) -> CoralRegion | None:
    if kind == "box":
        box = region.box
        if min(box) < 0:
            report.negative_coordinates += 1
            box = (max(box[0], 0.0), max(box[1], 0.0), max(box[2], 0.0), max(box[3], 0.0))
        if not _box_has_area(box):
            report.degenerate_boxes += 1
            return None
        return CoralRegion(region.label, box)
    points = region.polygon
    valid = np.all(points >= 0, axis=1)
    if not np.all(valid):
        report.negative_coordinates += 1
        points = points[valid]
    if not has_area(points):
        report.degenerate_polygons += 1
        return None
    xs, ys = points[:, 0], points[:, 1]
    return CoralRegion(region.label, (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())), points)


def _box_has_area(box: tuple[float, float, float, float]) -> bool:
    return box[2] - box[0] > 0 and box[3] - box[1] > 0
