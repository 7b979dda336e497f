"""Plain data types shared across layers: regions of a run file, and what a run is checked against.

No torch and no task logic, so the run-file grammar, the data modules, the evaluators and the task
definitions all use them without importing one another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

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


class RegionArrays(Mapping[str, list[Region]]):
    """A parsed region file kept as flat arrays (a few tens of bytes a region instead of a few hundred):
    image id -> regions, in file order, as `Region`s equal to those the parser would have made (box
    corners as ints for boxes, as read).

    An image's list is made on first access and kept, so a consumer that edits it (adds a region) sees
    its edit wherever the run is read next, as with a dict of lists; `peek` reads an image without
    keeping its list (the scorer, so that scoring millions of boxes never holds them all as objects).

    Args:
        ids: The image ids, in order.
        offsets: (len(ids) + 1,): image k's regions are `[offsets[k], offsets[k + 1])` of the arrays below.
        labels: (N,) labels.
        scores: (N,) confidences (float64, as parsed).
        boxes: (N, 4) corners (xmin, ymin, xmax, ymax): int64 for box regions, float64 for polygons.
        polygons: The polygons (flat vertex tuples), one per region, or None for box regions.
    """

    def __init__(
        self,
        ids: Sequence[str],
        offsets: np.ndarray,
        labels: np.ndarray,
        scores: np.ndarray,
        boxes: np.ndarray,
        polygons: Sequence[tuple[float, ...]] | None = None,
    ) -> None:
        self._index = {image_id: k for k, image_id in enumerate(ids)}
        self.offsets = offsets
        self.labels = labels
        self.scores = scores
        self.boxes = boxes
        self.polygons = polygons
        self._handed: dict[str, list[Region]] = {}

    def __getitem__(self, image_id: str) -> list[Region]:
        regions = self._handed.get(image_id)
        if regions is None:
            regions = self._handed[image_id] = self._made(image_id)
        return regions

    def peek(self, image_id: str) -> list[Region]:
        """image_id's regions (none for an image not in the file) as `[image_id]` gives them, not kept."""
        if image_id in self._handed:
            return self._handed[image_id]
        return self._made(image_id) if image_id in self._index else []

    def _made(self, image_id: str) -> list[Region]:
        k = self._index[image_id]
        start, end = int(self.offsets[k]), int(self.offsets[k + 1])
        polygons = self.polygons[start:end] if self.polygons is not None else [()] * (end - start)
        return [
            Region(label, score, tuple(box), polygon)
            for label, score, box, polygon in zip(
                self.labels[start:end].tolist(),
                self.scores[start:end].tolist(),
                self.boxes[start:end].tolist(),
                polygons,
                strict=True,
            )
        ]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._index
