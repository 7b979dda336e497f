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

from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from baselines.errors import FirstLines, ProblemCollector
from baselines.io.lines import read_lines
from baselines.io.region_text import example, parse_confidence, parse_geometry
from baselines.types import ImageSet, Region, RegionArrays, RegionKind

Corners = tuple[float, float, float, float]


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
_ADDED = ": its regions are added to the first line's"  # a tolerated repeated image line


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
    """Reads the file line by line through `_LineGrammar`, handing each image named and each region kept to
    the sink (None: only validates), then raises every problem found."""
    grammar = _LineGrammar(ProblemCollector(path), classes, kind, reference, tolerance, max_per_class)
    for number, text in read_lines(path, grammar.problems):
        fields = text.split(";")
        image = grammar.image(number, fields[0])
        if image is None:
            continue
        image_id, size = image
        if sink is not None:
            sink.image(image_id)
        for name, items in grammar.groups(number, fields):
            for item in items:
                region = grammar.region(number, name, item, size)
                if region is not None and sink is not None:
                    sink.add(image_id, *region)
    grammar.finish()


class _LineGrammar:
    """The checks of a grouped line, field by field in reading order, and what they share over the lines of
    one file: the problems, the line each image is first named on, the lines ignored (tolerated)."""

    def __init__(
        self,
        problems: ProblemCollector,
        classes: Sequence[str],
        kind: RegionKind,
        reference: ImageSet | None,
        tolerance: Tolerance,
        max_per_class: int | None,
    ) -> None:
        self.problems = problems
        self.classes = classes
        self.class_index = {name: i for i, name in enumerate(classes)}
        self.kind = kind
        self.reference = reference
        self.tolerance = tolerance
        self.max_per_class = max_per_class
        self.first: FirstLines[str] = FirstLines(problems, "image")
        self.ignored = 0

    def refuse(self, number: int, message: str, tolerated: bool) -> None:
        """An error, or, when the tolerance accepts it, a warning and one more line ignored."""
        if tolerated:
            self.problems.warn(number, f"{message} ({_IGNORED})")
            self.ignored += 1
        else:
            self.problems.add(number, message)

    def image(self, number: int, field: str) -> tuple[str, tuple[int, int] | None] | None:
        """The image id of a line's first field and the image's size (None without a reference), or None
        when the line is refused or ignored."""
        image_id, unknown = field.strip(), self.tolerance.unknown
        if not image_id:
            self.refuse(number, "line starts with ';': expected an image id before the first ';'", unknown)
            return None
        if image_id != field:
            if unknown:
                self.refuse(number, f"image id {field!r} has surrounding spaces", True)
                return None
            self.problems.add(number, f"image id {field!r} has surrounding spaces")
        if any(ch.isspace() for ch in image_id):
            self.refuse(
                number,
                f"image id {image_id!r} contains whitespace: expected 'image;class conf:{example(self.kind)},...' "
                "with ';' between the image id and each class group",
                unknown,
            )
            return None
        repeats = self.tolerance.repeats
        if self.first.repeated(image_id, number, _ADDED if repeats else "", warn=repeats) and not repeats:
            return None
        size = None
        if self.reference is not None:
            if image_id not in self.reference.sizes:
                self.refuse(number, f"unknown image {image_id!r}: not in the reference image set", unknown)
                return None
            size = self.reference.sizes[image_id]
        self.first.record(image_id, number)
        return image_id, size

    def groups(self, number: int, fields: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
        """(class name, region texts) of each class group of a line's fields that passes the checks."""
        seen_classes: set[str] = set()
        for position, group in enumerate(fields[1:], start=2):
            if not group.strip():
                if position == len(fields) and len(fields) == 2:
                    continue  # `image.jpg;` - an image with no regions
                self.problems.add(number, f"field {position} is empty: expected 'class conf:region,...'")
                continue
            name, sep, body = group.partition(" ")
            if not sep or not body.strip():
                self.problems.add(number, f"field {position} {group!r}: expected 'class conf:region,...' (one space)")
                continue
            if body.endswith(" "):
                body = body[:-1]  # one trailing space: the organisers' reader strips it
            if not body or body[0].isspace() or body != body.rstrip():
                self.problems.add(number, f"field {position} {group!r}: extra whitespace; expected exactly one space")
                continue
            if name not in self.class_index:
                unknown = f"unknown class {name!r}; expected one of {', '.join(self.classes)}"
                self.refuse(number, unknown, self.tolerance.unknown)
                continue
            if name in seen_classes:
                message = f"class {name!r} appears in more than one group on this line"
                if not self.tolerance.repeats:
                    self.problems.add(number, message)
                    continue
                self.problems.warn(number, f"{message}: its regions are added to the first group's")
            seen_classes.add(name)
            items = body.split(",")
            if self.max_per_class is not None and len(items) > self.max_per_class:
                self.problems.warn(
                    number,
                    f"class {name}: {len(items)} regions; only the {self.max_per_class} most confident of a class"
                    " per image are scored",
                )
            yield name, items

    def region(
        self, number: int, name: str, item: str, size: tuple[int, int] | None
    ) -> tuple[int, float, tuple[float, float, float, float], tuple[float, ...]] | None:
        """The `Region` fields of an item of a class group (`conf:geometry`), or None when it is refused (no
        `Region` is built when the file is only validated)."""
        where, kind = f"class {name}", self.kind
        if not item:
            self.problems.add(number, f"{where}: empty region (stray or trailing ',')")
            return None
        conf_text, colon, geometry_text = item.partition(":")
        if not colon:
            self.problems.add(number, f"{where}: region {item!r} has no confidence; expected 'conf:{example(kind)}'")
            return None
        score = parse_confidence(conf_text, number, where, self.problems)
        geometry = parse_geometry(kind, geometry_text, number, where, self.problems, self.tolerance.short_polygons)
        if score is None or geometry is None:
            return None
        box, polygon = geometry
        beyond = size is not None and (box[2] > size[0] or box[3] > size[1])
        if kind == "box" and size is not None and beyond:
            outside = f"extends outside the {size[0]}x{size[1]} image"
            self.problems.add(number, f"{where}: region {geometry_text!r} {outside}")
            return None
        if kind == "polygon" and (beyond or box[0] < 0 or box[1] < 0):
            outside = f"vertices outside the {size[0]}x{size[1]} image" if size else "negative vertices"
            self.problems.warn(
                number,
                f"{where}: polygon {geometry_text!r} has {outside}: accepted, but the part outside the"
                " image is not scored (clipped when drawn, as the organisers' evaluator does)",
            )
        return self.class_index[name], score, box, polygon

    def finish(self) -> None:
        """The whole-file checks, then every problem found is raised (`ProblemCollector.raise_if_any`)."""
        if self.ignored and not self.first:
            # Every line ignored: the official evaluator would score nothing; this is not a run for these images.
            message = f"no line names a reference image ({self.ignored} lines ignored): is this the right file?"
            self.problems.add(None, message)
        missing_images = self.tolerance.missing_images
        if self.reference is not None and missing_images != "allowed":
            warn = missing_images == "warning"
            note = " (scored as no region)" if warn else ""
            self.problems.no_line(self.reference.sizes, self.first, "reference images", note, warn, dots=True)
        self.problems.raise_if_any()


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
