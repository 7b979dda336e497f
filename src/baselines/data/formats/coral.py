"""ImageCLEFcoral 2020 training annotations: parsing with the known quirks, and records for training.

Files are space-separated without a header, one region per line:

- boxes:    `img_id idx class 1 a b c d` where (a, b, c, d) are in practice (xmin, ymax, xmax, ymin);
  the reader takes min/max, so either order works.
- polygons: `img_id idx class 1 x1 y1 x2 y2 ...`.

Quirks handled and counted (`CoralParseReport`): -1 coordinates, polygons with fewer than 3 distinct
vertices, boxes of zero width or height. For training (the default) a polygon vertex at -1 is dropped,
a box coordinate at -1 clipped to 0, and degenerate polygons and boxes are skipped. For scoring
(`scoring=True`) polygons are kept exactly as the organisers' evaluator (aCampello/clef_coral
`pixel_accuracy.py`) draws them: -1 vertices stay (OpenCV clips them when filling) and a one- or
two-vertex polygon stays (OpenCV draws it as a point or a line).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from baselines.data.polygons import has_area
from baselines.errors import ProblemCollector, read_lines

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
    """What the reader fixed, skipped or kept, so nothing is changed silently.

    Attributes:
        regions: Regions returned.
        negative_coordinates: Regions with a negative coordinate (-1 in the released files): fixed for
            training, kept as they are for scoring.
        degenerate_polygons: Polygons with fewer than 3 distinct vertices or no extent: skipped for
            training, kept (and counted in `regions`) for scoring.
        degenerate_boxes: Boxes of zero width or height: skipped.
        scoring: Whether the file was read for scoring (`parse_coral_annotations(..., scoring=True)`).
    """

    regions: int = 0
    negative_coordinates: int = 0
    degenerate_polygons: int = 0
    degenerate_boxes: int = 0
    scoring: bool = False

    def __str__(self) -> str:
        if self.scoring:
            return (
                f"{self.regions} regions read; kept as the organisers' evaluator draws them: "
                f"{self.negative_coordinates} with negative coordinates (clipped when drawn), "
                f"{self.degenerate_polygons} degenerate polygons (drawn as a point or a line); "
                f"skipped {self.degenerate_boxes} degenerate boxes"
            )
        return (
            f"{self.regions} regions read; {self.negative_coordinates} with -1 coordinates fixed; skipped "
            f"{self.degenerate_polygons} degenerate polygons and {self.degenerate_boxes} degenerate boxes"
        )


def parse_coral_annotations(
    path: str | Path, kind: AnnotationKind, classes: Sequence[str] = CORAL_CLASSES, scoring: bool = False
) -> tuple[dict[str, list[CoralRegion]], CoralParseReport]:
    """Parses an official coral box or polygon annotation file.

    Args:
        path: The file (CRLF line ends and a missing final newline are fine).
        kind: "box" or "polygon".
        classes: Substrate names; their index becomes `CoralRegion.label`.
        scoring: Keep polygons as the organisers' pixel evaluator draws them (negative vertices and
            polygons with fewer than 3 vertices stay) instead of fixing them for training.

    Returns:
        image id -> regions (file order), and the report of fixed and skipped regions.

    Raises:
        FormatError: For lines that do not follow the format (wrong field count, unknown class,
            non-numeric coordinate), each with its line number.
    """
    problems = ProblemCollector(path)
    class_index = {name: i for i, name in enumerate(classes)}
    report = CoralParseReport(scoring=scoring)
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
        region = _region(class_index[name], values, kind, report, scoring)
        result.setdefault(image_id, [])
        if region is not None:
            result[image_id].append(region)
            report.regions += 1
    usable = report.regions - (report.degenerate_polygons if scoring else 0)
    if result and not usable and not problems:
        problems.add(
            None,
            f"no usable region: every {kind} is degenerate"
            + (" (is this the box annotation file?)" if kind == "polygon" else ""),
        )
    problems.raise_if_any()
    if report.negative_coordinates or report.degenerate_polygons or report.degenerate_boxes:
        log.warning("%s: %s", path, report)
    return result, report


def _region(
    label: int, values: np.ndarray, kind: AnnotationKind, report: CoralParseReport, scoring: bool
) -> CoralRegion | None:
    if kind == "box":
        if np.any(values < 0):
            report.negative_coordinates += 1
            values = np.clip(values, 0, None)
        a, b, c, d = values
        box = (min(a, c), min(b, d), max(a, c), max(b, d))
        if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
            report.degenerate_boxes += 1
            return None
        return CoralRegion(label, box)
    points = values.reshape(-1, 2)
    valid = np.all(points >= 0, axis=1)
    if not np.all(valid):
        report.negative_coordinates += 1
        if not scoring:
            points = points[valid]
    if not has_area(points):
        report.degenerate_polygons += 1
        if not scoring:
            return None
    xs, ys = points[:, 0], points[:, 1]
    box = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
    return CoralRegion(label, box, points.astype(np.float32))
