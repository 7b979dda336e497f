"""Plain data types shared across layers: regions of a run file, and what a run is checked against.

No torch and no task logic, so the run-file grammar, the data modules, the evaluators and the task
definitions all use them without importing one another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

RegionKind = Literal["box", "polygon"]


@dataclass(frozen=True)
class Region:
    """One scored region of one class.

    Attributes:
        label: Index into the task's class list.
        score: Confidence in [0, 1].
        box: (xmin, ymin, xmax, ymax) in pixels; for polygons their bounding box.
        polygon: Flat (x1, y1, x2, y2, ...) for polygon regions, else empty.
    """

    label: int
    score: float
    box: tuple[float, float, float, float]
    polygon: tuple[float, ...] = ()


@dataclass
class ImageSet:
    """What a region run is checked against: the expected image ids and, when known, their sizes.

    Attributes:
        sizes: image id -> (width, height), or None where the size is unknown.
        ground_truth: image id -> ground-truth regions, when ground truth was loaded.
        subsets: Optional subset name -> image ids, for per-subset scores.
    """

    sizes: dict[str, tuple[int, int] | None]
    ground_truth: dict[str, list[Region]] | None = None
    subsets: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PredictionSet:
    """What a data module's predict split holds: the items a run file written from it must cover.

    The data module that produced the predictions is the source of this, so the pipeline validates
    its own run file without being told where the test images are, and items skipped as unreadable
    (never predicted) are not expected either.

    Attributes:
        ids: The official ids (image, CT, topic, participant) in prediction order.
        files: id -> the file each prediction was made from (image, CT volume), where there is one;
            region tasks read image sizes from these.
        candidates: For retrieval, the collection items a run may rank (the lifelog images); None
            where a task has none.
    """

    ids: tuple[str, ...]
    files: Mapping[str, Path] = field(default_factory=dict)
    candidates: frozenset[str] | None = None
