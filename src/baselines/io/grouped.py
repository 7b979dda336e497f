"""The grouped-region grammar shared by drawnUI and both coral subtasks.

One line per image: `image_id;class r1,r2,...;class2 r1,...` where a region is

- a box `conf:WxH+X+Y` (absolute pixels, X,Y = top-left corner), or
- a polygon `conf:x1+y1+x2+y2+...` (vertices in pixels).

Ground-truth files use the same grammar with confidence 1.

A box of zero width or height and a polygon of 3 or more vertices without area are accepted with a
`FormatWarning` and scored as COCOeval scores them (they match nothing), as is what the official tools read.
One space at the end of a class group is accepted (the coral organisers' reader, aCampello/clef_coral
`pixel_accuracy.py`, strips one), and so are polygon vertices outside the image, negative ones included
(that reader takes them with `int()` and OpenCV clips them when filling), with a `FormatWarning`, since
a vertex off the image is most likely a mistake. `Tolerance` lists what else a task accepts with a
warning because its official evaluator does (coral subtask 2: `CORAL_PIXEL`).
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from baselines.errors import ProblemCollector
from baselines.io.lines import read_lines
from baselines.io.polygons import has_area, unflat
from baselines.types import ImageSet, Region, RegionArrays, RegionKind

Corners = tuple[float, float, float, float]
_INT = r"([0-9]{1,9})"  # ASCII digits; 9 at most, which no image size reaches
_VERTEX = re.compile(r"^-?[0-9]{1,9}$")  # int() of the organisers' reader takes a sign; off-image is a warning
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


@dataclass(frozen=True)
class Tolerance:
    """Departures from the grammar accepted with a `FormatWarning`, because the task's official evaluator
    accepts them; each is then scored as that evaluator scores it.

    Attributes:
        missing_images: A reference image without a line: "error", "warning" (scored as no region) or
            "allowed" (ground truth).
        unknown: A line whose image id is not a reference image (or is empty or holds whitespace) and a
            class group of an unknown class are ignored.
        repeats: A repeated image line or class group adds its regions to the first one.
        short_polygons: A polygon of one or two vertices is kept (drawn as a point or a line), and of an
            odd number of values the last is ignored (the organisers' reader pairs values with zip()).
    """

    missing_images: Literal["error", "warning", "allowed"] = "error"
    unknown: bool = False
    repeats: bool = False
    short_polygons: bool = False


STRICT = Tolerance()
"""Run files of drawnUI and coral subtask 1: the published grammar (no official reader is public)."""
GROUND_TRUTH = Tolerance(missing_images="allowed")
CORAL_PIXEL = Tolerance(missing_images="warning", unknown=True, repeats=True, short_polygons=True)
"""Run files of coral subtask 2, as the organisers' `pixel_accuracy.py` reads them (docs/evaluation.md)."""
_IGNORED = "ignored, as the organisers' evaluator ignores it"


def _parse_geometry(
    kind: RegionKind, text: str, line: int, where: str, problems: ProblemCollector, short_polygons: bool = False
) -> tuple[tuple[float, float, float, float], tuple[float, ...]] | None:
    if kind == "box":
        match = _BOX.match(text)
        if not match:
            problems.add(line, f"{where}: region {text!r} is not WxH+X+Y with non-negative integers (9 digits at most)")
            return None
        w, h, x, y = map(int, match.groups())
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


class _RegionLists:
    """Collects the parsed regions as `Region` lists (`parse_grouped_file`)."""

    def __init__(self) -> None:
        self.result: dict[str, list[Region]] = {}

    def add(self, image_id: str, label: int, score: float, box: Corners, polygon: tuple[float, ...]) -> None:
        self.result.setdefault(image_id, []).append(Region(label, score, box, polygon))

    def image(self, image_id: str) -> None:
        self.result.setdefault(image_id, [])


class _RegionColumns:
    """Collects the parsed regions as flat typed arrays (`parse_grouped_arrays`): 52 bytes a box."""

    def __init__(self, kind: RegionKind) -> None:
        self.ids: dict[str, int] = {}
        self.owner = array("q")  # image index of each region; a tolerated repeated line adds to an earlier image
        self.labels = array("i")
        self.scores = array("d")
        self.boxes: array[Any] = array("q" if kind == "box" else "d")  # box corners are ints, as the parser reads them
        self.polygons: list[tuple[float, ...]] | None = None if kind == "box" else []

    def add(self, image_id: str, label: int, score: float, box: Corners, polygon: tuple[float, ...]) -> None:
        self.owner.append(self.ids[image_id])  # no `Region` made: the scorer reads these arrays
        self.labels.append(label)
        self.scores.append(score)
        self.boxes.extend(box)
        if self.polygons is not None:
            self.polygons.append(polygon)

    def image(self, image_id: str) -> None:
        self.ids.setdefault(image_id, len(self.ids))

    def arrays(self) -> RegionArrays:
        owner = np.frombuffer(self.owner, np.int64) if self.owner else np.zeros(0, np.int64)
        labels = np.frombuffer(self.labels, np.int32) if self.labels else np.zeros(0, np.int32)
        scores = np.frombuffer(self.scores, np.float64) if self.scores else np.zeros(0, np.float64)
        dtype = np.int64 if self.boxes.typecode == "q" else np.float64
        boxes = (np.frombuffer(self.boxes, dtype) if self.boxes else np.zeros(0, dtype)).reshape(-1, 4)
        polygons = self.polygons
        if owner.size and np.any(owner[1:] < owner[:-1]):  # regions of a repeated line join their image's
            order = np.argsort(owner, kind="stable")
            owner, labels, scores, boxes = owner[order], labels[order], scores[order], boxes[order]
            polygons = [polygons[i] for i in order.tolist()] if polygons is not None else None
        offsets = np.zeros(len(self.ids) + 1, np.int64)
        np.cumsum(np.bincount(owner, minlength=len(self.ids)), out=offsets[1:])
        return RegionArrays(list(self.ids), offsets, labels, scores, boxes, polygons)


def parse_grouped_arrays(
    path: str | Path,
    classes: Sequence[str],
    kind: RegionKind,
    reference: ImageSet | None = None,
    tolerance: Tolerance = STRICT,
    max_per_class: int | None = None,
) -> RegionArrays:
    """As `parse_grouped_file` (the same checks and messages), the regions kept as arrays: how a run
    is read for scoring (a 200 MB run holds about 9M boxes)."""
    columns = _RegionColumns(kind)
    _parse(path, classes, kind, reference, tolerance, max_per_class, columns)
    return columns.arrays()


def parse_grouped_file(
    path: str | Path,
    classes: Sequence[str],
    kind: RegionKind,
    reference: ImageSet | None = None,
    tolerance: Tolerance = STRICT,
    max_per_class: int | None = None,
    keep: bool = True,
) -> dict[str, list[Region]]:
    """Parses and validates a grouped-region file (run file or ground truth).

    Args:
        path: The file.
        classes: Allowed class names; their index becomes `Region.label`.
        kind: Whether regions are boxes or polygons.
        reference: Expected ids and sizes; unknown ids, boxes outside the image and missing images are
            then errors (unless tolerated); polygon vertices outside the image are warnings.
        tolerance: What is accepted with a warning beyond the grammar (`STRICT` by default).
        max_per_class: Warn about a class group holding more regions than the scorer keeps per image
            and class (it keeps the most confident ones).
        keep: Return the regions; False only validates, line by line (a 200 MB run in a few hundred MB).

    Returns:
        image id -> regions, in file order.

    Raises:
        FormatError: Listing every problem with its line number.
    """
    lists = _RegionLists()
    _parse(path, classes, kind, reference, tolerance, max_per_class, lists if keep else None)
    return lists.result


def _parse(
    path: str | Path,
    classes: Sequence[str],
    kind: RegionKind,
    reference: ImageSet | None,
    tolerance: Tolerance,
    max_per_class: int | None,
    sink: _RegionLists | _RegionColumns | None,
) -> None:
    problems = ProblemCollector(path)
    class_index = {name: i for i, name in enumerate(classes)}
    first_line: dict[str, int] = {}

    ignored = 0

    def refuse(number: int, message: str, tolerated: bool) -> None:
        nonlocal ignored
        if tolerated:
            problems.warn(number, f"{message} ({_IGNORED})")
            ignored += 1
        else:
            problems.add(number, message)

    for number, text in read_lines(path, problems):
        fields = text.split(";")
        image_id = fields[0].strip()
        if not image_id:
            refuse(number, "line starts with ';': expected an image id before the first ';'", tolerance.unknown)
            continue
        if image_id != fields[0]:
            if tolerance.unknown:
                refuse(number, f"image id {fields[0]!r} has surrounding spaces", True)
                continue
            problems.add(number, f"image id {fields[0]!r} has surrounding spaces")
        if any(ch.isspace() for ch in image_id):
            refuse(
                number,
                f"image id {image_id!r} contains whitespace: expected 'image;class conf:{_example(kind)},...' "
                "with ';' between the image id and each class group",
                tolerance.unknown,
            )
            continue
        if image_id in first_line:
            message = f"duplicate image {image_id!r} (first on line {first_line[image_id]})"
            if not tolerance.repeats:
                problems.add(number, message)
                continue
            problems.warn(number, f"{message}: its regions are added to the first line's")
        size = None
        if reference is not None:
            if image_id not in reference.sizes:
                refuse(number, f"unknown image {image_id!r}: not in the reference image set", tolerance.unknown)
                continue
            size = reference.sizes[image_id]
        first_line.setdefault(image_id, number)
        if sink is not None:
            sink.image(image_id)
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
            if body.endswith(" "):
                body = body[:-1]  # one trailing space: the organisers' reader strips it
            if not body or body[0].isspace() or body != body.rstrip():
                problems.add(number, f"field {position} {group!r}: extra whitespace; expected exactly one space")
                continue
            if name not in class_index:
                refuse(number, f"unknown class {name!r}; expected one of {', '.join(classes)}", tolerance.unknown)
                continue
            if name in seen_classes:
                message = f"class {name!r} appears in more than one group on this line"
                if not tolerance.repeats:
                    problems.add(number, message)
                    continue
                problems.warn(number, f"{message}: its regions are added to the first group's")
            seen_classes.add(name)
            items = body.split(",")
            if max_per_class is not None and len(items) > max_per_class:
                problems.warn(
                    number,
                    f"class {name}: {len(items)} regions; only the {max_per_class} most confident of a class"
                    " per image are scored",
                )
            for item in items:
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
                geometry = _parse_geometry(kind, geometry_text, number, where, problems, tolerance.short_polygons)
                if score is None or geometry is None:
                    continue
                box, polygon = geometry
                beyond = size is not None and (box[2] > size[0] or box[3] > size[1])
                if kind == "box" and size is not None and beyond:
                    problems.add(
                        number,
                        f"{where}: region {geometry_text!r} extends outside the {size[0]}x{size[1]} image",
                    )
                    continue
                if kind == "polygon" and (beyond or box[0] < 0 or box[1] < 0):
                    outside = f"vertices outside the {size[0]}x{size[1]} image" if size else "negative vertices"
                    problems.warn(
                        number,
                        f"{where}: polygon {geometry_text!r} has {outside}: accepted, but the part outside the"
                        " image is not scored (clipped when drawn, as the organisers' evaluator does)",
                    )
                if sink is not None:
                    sink.add(image_id, class_index[name], score, box, polygon)
    if ignored and not first_line:
        # Every line ignored: the official evaluator would score nothing; this is not a run for these images.
        problems.add(None, f"no line names a reference image ({ignored} lines ignored): is this the right file?")
    if reference is not None and tolerance.missing_images != "allowed":
        missing = [i for i in reference.sizes if i not in first_line]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            if tolerance.missing_images == "error":
                problems.add(None, f"{len(missing)} reference images have no line: {shown}")
            else:
                problems.warn(None, f"{len(missing)} reference images have no line (scored as no region): {shown}")
    problems.raise_if_any()


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
