"""The text of one region of the grouped grammar (`baselines.io.grouped`): `conf:WxH+X+Y` for a box,
`conf:x1+y1+x2+y2+...` for a polygon, read with the problems and warnings of that grammar."""

from __future__ import annotations

import math
import re

from baselines.errors import ProblemCollector
from baselines.io.polygons import has_area, unflat
from baselines.types import RegionKind

_INT = r"([0-9]{1,9})"  # ASCII digits; 9 at most, which no image size reaches
_VERTEX = re.compile(r"^-?[0-9]{1,9}$")  # int() of the organisers' reader takes a sign; off-image is a warning
_BOX = re.compile(rf"^{_INT}x{_INT}\+{_INT}\+{_INT}$")


def parse_confidence(text: str, line: int, where: str, problems: ProblemCollector) -> float | None:
    """A region's confidence, a finite number in [0, 1]; None (and a problem on the line) otherwise."""
    try:
        value = float(text)
    except ValueError:
        problems.add(line, f"{where}: confidence {text!r} is not a number")
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        problems.add(line, f"{where}: confidence {text!r} must be a finite number in [0, 1]")
        return None
    return value


def parse_geometry(
    kind: RegionKind, text: str, line: int, where: str, problems: ProblemCollector, short_polygons: bool = False
) -> tuple[tuple[float, float, float, float], tuple[float, ...]] | None:
    """A region's geometry as (box corners, flat polygon vertices or () for a box); None (and a problem on the
    line) when it does not read. What is accepted with a warning is in the `baselines.io.grouped` docstring.

    Args:
        where: Said before each message ("class button").
        short_polygons: Keep polygons of one or two vertices, and ignore the last of an odd number of values
            (`Tolerance.short_polygons`).
    """
    if kind == "box":
        match = _BOX.match(text)
        if not match:
            problems.add(line, f"{where}: region {text!r} is not WxH+X+Y with non-negative integers (9 digits at most)")
            return None
        w, h, x, y = (int(v) for v in match.groups())
        if w == 0 or h == 0:
            # COCOeval takes such a box (the coral organisers' reader takes width 0 too): it has no area, so
            # it overlaps nothing. Accepted and scored as COCOeval scores it, since it is most likely a mistake.
            problems.warn(
                line,
                f"{where}: region {text!r} has zero width or height: accepted, and scored as COCOeval scores it"
                " (it matches nothing: a detection is a false positive, a ground-truth box a miss)",
            )
        return (x, y, x + w, y + h), ()
    parts = text.split("+")
    if short_polygons and len(parts) % 2 and len(parts) > 2:
        problems.warn(line, f"{where}: polygon {text!r} has an odd number of values: the last one is ignored")
        parts = parts[:-1]
    if not short_polygons and (len(parts) < 6 or len(parts) % 2):
        problems.add(line, f"{where}: polygon {text!r} must be x1+y1+x2+y2+... with at least 3 vertices (even count)")
        return None
    if len(parts) < 2 or len(parts) % 2:
        problems.add(line, f"{where}: polygon {text!r} must be x1+y1+x2+y2+... (an even count of values)")
        return None
    if not all(_VERTEX.match(p) for p in parts):
        problems.add(line, f"{where}: polygon {text!r} has a value that is not an integer (9 digits at most)")
        return None
    if len(parts) < 6:
        problems.warn(
            line,
            f"{where}: polygon {text!r} has fewer than 3 vertices: the pixel IoU draws it as a point or a line,"
            " the mask mAP leaves it out",
        )
    coords = tuple(float(p) for p in parts)
    if len(parts) >= 6 and not has_area(unflat(coords)):
        problems.warn(
            line,
            f"{where}: polygon {text!r} has no area (its vertices repeat or lie on one line): the mask mAP"
            " scores it as pycocotools draws it, an empty mask that matches nothing; the pixel IoU draws its"
            " outline",
        )
    xs, ys = coords[0::2], coords[1::2]
    return (min(xs), min(ys), max(xs), max(ys)), coords


def example(kind: RegionKind) -> str:
    """How a region of this kind is written, for messages."""
    return "WxH+X+Y" if kind == "box" else "x1+y1+x2+y2+x3+y3"
