"""The grouped-region grammar shared by drawnUI and both coral subtasks.

One line per image: `image_id;class r1,r2,...;class2 r1,...` where a region is

- a box `conf:WxH+X+Y` (absolute pixels, X,Y = top-left corner), or
- a polygon `conf:x1+y1+x2+y2+...` (vertices in pixels).

Ground-truth files use the same grammar with confidence 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from baselines.errors import ProblemCollector, read_lines
from baselines.types import ImageSet, Region, RegionKind

_INT = r"([0-9]{1,9})"  # ASCII digits; 9 at most, which no image size reaches
_UINT = re.compile(rf"^{_INT}$")
_BOX = re.compile(rf"^{_INT}x{_INT}\+{_INT}\+{_INT}$")


def _parse_confidence(text: str, line: int, where: str, problems: ProblemCollector) -> float | None:
    try:
        value = float(text)
    except ValueError:
        problems.add(line, f"{where}: confidence {text!r} is not a number")
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        problems.add(line, f"{where}: confidence {text!r} must be a finite number in [0, 1]")
        return None
    return value


def _parse_geometry(
    kind: RegionKind, text: str, line: int, where: str, problems: ProblemCollector
) -> tuple[tuple[float, float, float, float], tuple[float, ...]] | None:
    if kind == "box":
        match = _BOX.match(text)
        if not match:
            problems.add(line, f"{where}: region {text!r} is not WxH+X+Y with non-negative integers (9 digits at most)")
            return None
        w, h, x, y = (int(v) for v in match.groups())
        if w == 0 or h == 0:
            problems.add(line, f"{where}: region {text!r} has zero width or height")
            return None
        return (x, y, x + w, y + h), ()
    parts = text.split("+")
    if len(parts) < 6 or len(parts) % 2:
        problems.add(line, f"{where}: polygon {text!r} must be x1+y1+x2+y2+... with at least 3 vertices (even count)")
        return None
    if not all(_UINT.match(p) for p in parts):
        problems.add(
            line,
            f"{where}: polygon {text!r} has a value that is not a non-negative integer (9 digits at most)",
        )
        return None
    coords = tuple(float(p) for p in parts)
    xs, ys = coords[0::2], coords[1::2]
    return (min(xs), min(ys), max(xs), max(ys)), coords


def parse_grouped_file(
    path: str | Path,
    classes: Sequence[str],
    kind: RegionKind,
    reference: ImageSet | None = None,
    require_all_images: bool = True,
) -> dict[str, list[Region]]:
    """Parses and validates a grouped-region file (run file or ground truth).

    Args:
        path: The file.
        classes: Allowed class names; their index becomes `Region.label`.
        kind: Whether regions are boxes or polygons.
        reference: Expected ids and sizes; unknown ids, regions outside the image and (if
            require_all_images) missing images are then errors.
        require_all_images: Whether every reference image must have a line.

    Returns:
        image id -> regions, in file order.

    Raises:
        FormatError: Listing every problem with its line number.
    """
    problems = ProblemCollector(path)
    class_index = {name: i for i, name in enumerate(classes)}
    result: dict[str, list[Region]] = {}
    first_line: dict[str, int] = {}
    for number, text in read_lines(path, problems):
        fields = text.split(";")
        image_id = fields[0].strip()
        if not image_id:
            problems.add(number, "line starts with ';': expected an image id before the first ';'")
            continue
        if image_id != fields[0]:
            problems.add(number, f"image id {fields[0]!r} has surrounding spaces")
        if any(ch.isspace() for ch in image_id):
            problems.add(
                number,
                f"image id {image_id!r} contains whitespace: expected 'image;class conf:{_example(kind)},...' "
                "with ';' between the image id and each class group",
            )
            continue
        if image_id in first_line:
            problems.add(number, f"duplicate image {image_id!r} (first on line {first_line[image_id]})")
            continue
        first_line[image_id] = number
        size = None
        if reference is not None:
            if image_id not in reference.sizes:
                problems.add(number, f"unknown image {image_id!r}: not in the reference image set")
                continue
            size = reference.sizes[image_id]
        regions: list[Region] = []
        seen_classes: set[str] = set()
        groups = fields[1:]
        for position, group in enumerate(groups, start=2):
            if not group.strip():
                if position == len(fields) and len(fields) == 2:
                    continue  # `image.jpg;` - an image with no regions
                problems.add(number, f"field {position} is empty: expected 'class conf:region,...'")
                continue
            name, sep, body = group.partition(" ")
            if not sep or not body.strip():
                problems.add(number, f"field {position} {group!r}: expected 'class conf:region,...' (one space)")
                continue
            if body[0].isspace() or body != body.rstrip():
                problems.add(number, f"field {position} {group!r}: extra whitespace; expected exactly one space")
                continue
            if name not in class_index:
                problems.add(number, f"unknown class {name!r}; expected one of {', '.join(classes)}")
                continue
            if name in seen_classes:
                problems.add(number, f"class {name!r} appears in more than one group on this line")
                continue
            seen_classes.add(name)
            for item in body.split(","):
                where = f"class {name}"
                if not item:
                    problems.add(number, f"{where}: empty region (stray or trailing ',')")
                    continue
                conf_text, colon, geometry_text = item.partition(":")
                if not colon:
                    problems.add(
                        number,
                        f"{where}: region {item!r} has no confidence; expected 'conf:{_example(kind)}'",
                    )
                    continue
                score = _parse_confidence(conf_text, number, where, problems)
                geometry = _parse_geometry(kind, geometry_text, number, where, problems)
                if score is None or geometry is None:
                    continue
                box, polygon = geometry
                if size is not None and (box[2] > size[0] or box[3] > size[1]):
                    problems.add(
                        number,
                        f"{where}: region {geometry_text!r} extends outside the {size[0]}x{size[1]} image",
                    )
                    continue
                regions.append(Region(class_index[name], score, box, polygon))
        result[image_id] = regions
    if reference is not None and require_all_images:
        missing = [i for i in reference.sizes if i not in first_line]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            problems.add(None, f"{len(missing)} reference images have no line: {shown}")
    problems.raise_if_any()
    return result


def _example(kind: RegionKind) -> str:
    return "WxH+X+Y" if kind == "box" else "x1+y1+x2+y2+x3+y3"


def _fmt_score(score: float) -> str:
    return f"{score:.4f}".rstrip("0").rstrip(".") if score < 1 else "1"


def _round_span(start: float, end: float) -> tuple[int, int]:
    """Rounds a span to integer pixels, keeping it at least one pixel wide and inside [0, round(end)]."""
    lo, hi = max(0, round(start)), max(0, round(end))
    if hi - lo < 1:
        lo, hi = (hi - 1, hi) if hi >= 1 else (lo, lo + 1)
    return lo, hi


def format_region(region: Region, kind: RegionKind) -> str:
    if kind == "box":
        x0, x1 = _round_span(region.box[0], region.box[2])
        y0, y1 = _round_span(region.box[1], region.box[3])
        return f"{_fmt_score(region.score)}:{x1 - x0}x{y1 - y0}+{x0}+{y0}"
    return f"{_fmt_score(region.score)}:" + "+".join(str(round(v)) for v in region.polygon)


def format_grouped_lines(
    regions_by_image: Mapping[str, Sequence[Region]], classes: Sequence[str], kind: RegionKind
) -> str:
    """Writes one line per image, classes in class-list order, regions by descending confidence."""
    lines = []
    for image_id, regions in regions_by_image.items():
        fields = [image_id]
        for label, name in enumerate(classes):
            mine = sorted((r for r in regions if r.label == label), key=lambda r: -r.score)
            if mine:
                fields.append(f"{name} " + ",".join(format_region(r, kind) for r in mine))
        lines.append(";".join(fields))
    return "\n".join(lines) + ("\n" if lines else "")
