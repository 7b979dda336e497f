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
    ground_truth: Mapping[str, list[Region]] | None = None
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

    def columns(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The regions of ids, in that order (an id not in the file has none), as flat arrays without a
        `Region` made: each one's position in ids, label, score and box corners. An image whose list was
        handed out (`[image_id]`) is read from that list, which its consumer may have edited."""
        where = np.asarray([self._index.get(image_id, -1) for image_id in ids], np.int64)
        handed = np.asarray([image_id in self._handed for image_id in ids], bool) if self._handed else None
        present = where >= 0 if handed is None else (where >= 0) & ~handed
        starts = np.where(present, self.offsets[np.maximum(where, 0)], 0)
        counts = np.where(present, self.offsets[np.maximum(where, 0) + 1] - starts, 0)
        image = np.repeat(np.arange(len(ids)), counts)
        rows = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
        label, score, boxes = self.labels[rows], self.scores[rows], self.boxes[rows]
        if handed is not None and handed.any():
            edited = [(k, r) for k in np.flatnonzero(handed).tolist() for r in self._handed[ids[k]]]
            image = np.concatenate([image, np.asarray([k for k, _ in edited], np.int64)])
            label = np.concatenate([label, np.asarray([r.label for _, r in edited], label.dtype)])
            score = np.concatenate([score, np.asarray([r.score for _, r in edited], np.float64)])
            added = np.asarray([r.box for _, r in edited], np.float64).reshape(-1, 4)
            boxes = np.concatenate([boxes.astype(np.float64), added])  # an edit may hold float corners
            order = np.argsort(image, kind="stable")
            image, label, score, boxes = image[order], label[order], score[order], boxes[order]
        return image, label, score, boxes

    def with_images(self, ids: Sequence[str]) -> RegionArrays:
        """These regions with ids (not in the file) added after its images, with no region."""
        known = list(self._index)
        offsets = np.concatenate([self.offsets, np.full(len(ids), self.offsets[-1])])
        extended = RegionArrays([*known, *ids], offsets, self.labels, self.scores, self.boxes, self.polygons)
        extended._handed = self._handed
        return extended

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


def region_columns(
    regions: Mapping[str, Sequence[Region]], ids: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The regions of ids' images as flat arrays (`RegionArrays.columns`): each one's position in ids,
    label, score and box corners (int64 as parsed from a box file, else float64); read from a
    `RegionArrays` without making a `Region`."""
    if isinstance(regions, RegionArrays):
        return regions.columns(ids)
    rows = [(k, region) for k, image_id in enumerate(ids) for region in regions.get(image_id, ())]
    return (
        np.asarray([k for k, _ in rows], np.int64),
        np.asarray([region.label for _, region in rows], np.int64),
        np.asarray([region.score for _, region in rows], np.float64),
        np.asarray([region.box for _, region in rows], np.float64).reshape(-1, 4),
    )


def with_images(regions: Mapping[str, list[Region]], ids: Sequence[str]) -> Mapping[str, list[Region]]:
    """regions with images ids (none of them in it) added after its own, with no region; a `RegionArrays`
    stays arrays."""
    if isinstance(regions, RegionArrays):
        return regions.with_images(ids)
    return {**regions, **{image_id: [] for image_id in ids}}


def peek_regions(regions: Mapping[str, Sequence[Region]], image_id: str) -> Sequence[Region]:
    """image_id's regions (none if absent), without a `RegionArrays` keeping the list it makes (`peek`)."""
    return regions.peek(image_id) if isinstance(regions, RegionArrays) else regions.get(image_id, ())
