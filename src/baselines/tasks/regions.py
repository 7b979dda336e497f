"""Tasks whose run files use the grouped-region grammar (drawnUI, coral): shared spec."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from baselines.errors import ProblemCollector
from baselines.evaluation.coco import MAX_DETECTIONS, region_matches
from baselines.evaluation.detection import detection_scores
from baselines.evaluation.matches import RegionMatches
from baselines.io.grouped import (
    GROUND_TRUTH,
    STRICT,
    Tolerance,
    format_grouped_lines,
    parse_grouped_arrays,
    parse_grouped_file,
)
from baselines.io.images import image_size, images_by_id
from baselines.io.lines import read_lines
from baselines.tasks.base import Kind, TaskSpec, predicted_truth
from baselines.types import ImageSet, PredictionSet, Region, RegionArrays, RegionKind, with_images


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def regions_from_prediction(prediction: Mapping[str, Any]) -> list[Region]:
    """Converts a model's per-image output (`boxes` xyxy, `scores`, `labels`, optional `polygons`)."""
    boxes = _array(prediction["boxes"]).reshape(-1, 4)
    scores = _array(prediction["scores"]).reshape(-1)
    labels = _array(prediction["labels"]).reshape(-1)
    polygons = prediction.get("polygons") or [()] * len(boxes)
    return [
        Region(int(label), float(score), tuple(float(v) for v in box), tuple(float(v) for v in poly))  # type: ignore[arg-type]
        for box, score, label, poly in zip(boxes, scores, labels, polygons, strict=False)
    ]


def with_every_image(truth: Mapping[str, list[Region]], images: Iterable[str]) -> Mapping[str, list[Region]]:
    """The ground truth of every scored image: truth's images in its order, then the other images (the test
    images that have no ground-truth line) with no region.

    COCOeval's image list is the test set: a detection on a test image without ground truth is a false
    positive, so such an image must be scored, not dropped (a coral ground-truth file names an image only
    on a region's line; a drawnUI one may leave an image out). The organisers' pixel IoU still draws only
    the images that hold a region (`evaluation.segmentation.pixel_iou`).
    """
    return with_images(truth, [image_id for image_id in images if image_id not in truth])


class RegionSpec(TaskSpec):
    """A task scored by detection mAP on grouped-region run files.

    Args:
        name: Registry name.
        classes: Class names in label order.
        geometry: "box" or "polygon" regions (the task's kind is then "boxes" or "polygons").
        iou_threshold: IoU of the primary mAP and of precision/recall.
        extra_iou_thresholds: More thresholds for which `map_<t>` and `recall_<t>` are reported
            (0 means any overlap, IoU > 0).
        id_from: The official image id of an image file: its name (drawnUI) or its stem (coral).
        max_detections: Detections scored per image and class, the most confident first (COCO's 100;
            the validator warns about a class group holding more).
        tolerance: What the run validator accepts with a warning beyond the grammar, because the
            task's official evaluator does (`io.grouped.Tolerance`).
    """

    def __init__(
        self,
        name: str,
        classes: Sequence[str],
        geometry: RegionKind,
        iou_threshold: float = 0.5,
        extra_iou_thresholds: Sequence[float] = (),
        id_from: Literal["name", "stem"] = "name",
        max_detections: int = MAX_DETECTIONS,
        tolerance: Tolerance = STRICT,
    ) -> None:
        self.name = name
        self._classes = tuple(classes)
        self.geometry: RegionKind = geometry
        self.kind: Kind = "boxes" if geometry == "box" else "polygons"
        self.iou_threshold = iou_threshold
        self.extra_iou_thresholds = tuple(extra_iou_thresholds)
        self.id_from = id_from
        self.max_detections = max_detections
        self.tolerance = tolerance
        self.primary_metric = f"map_{_tag(iou_threshold)}"

    @property
    def classes(self) -> Sequence[str]:
        return self._classes

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        """The run file's text, with at most `max_detections` regions per image and class, the most confident:
        no more are scored, and the validator warns about a class holding more (test-time augmentation and
        ensembles can make them)."""
        by_image = {str(p["id"]): self._scored(regions_from_prediction(p)) for p in predictions}
        return format_grouped_lines(by_image, self._classes, self.geometry)

    def _scored(self, regions: list[Region]) -> list[Region]:
        # stable, as the scorer ranks: among equal scores the first written is kept
        ranked = sorted(range(len(regions)), key=lambda index: -regions[index].score)
        counts: dict[int, int] = {}
        kept = set()
        for index in ranked:
            counts[regions[index].label] = counts.get(regions[index].label, 0) + 1
            if counts[regions[index].label] <= self.max_detections:
                kept.add(index)
        return [region for index, region in enumerate(regions) if index in kept]  # the model's order otherwise

    def read_ground_truth(self, path: str | Path, reference: ImageSet | None) -> Mapping[str, list[Region]]:
        """Reads the task's official ground truth; by default the run-file grammar with confidence 1, kept as
        arrays (`RegionArrays`, as a run is: a ground truth of millions of boxes in bounded memory)."""
        return parse_grouped_arrays(path, self._classes, self.geometry, reference, GROUND_TRUTH)

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> ImageSet:
        sizes: dict[str, tuple[int, int] | None] = {}
        if images is not None:
            sizes = {image_id: image_size(p) for image_id, p in images_by_id(images, self.id_from).items()}
        truth = None
        if ground_truth is not None:
            truth = self.read_ground_truth(ground_truth, ImageSet(sizes) if sizes else None)
            if not sizes:
                sizes = dict.fromkeys(truth)
            truth = with_every_image(truth, sizes)
        return ImageSet(sizes=sizes, ground_truth=truth)

    def reference_for(self, predicted: PredictionSet, ground_truth: str | Path | None) -> ImageSet:
        sizes = {i: image_size(predicted.files[i]) if i in predicted.files else None for i in predicted.ids}
        truth: Mapping[str, list[Region]] | None = None
        if ground_truth is not None:
            truth = predicted_truth(self.read_ground_truth(ground_truth, None), predicted, ground_truth)
            truth = with_every_image(truth, sizes)
        return ImageSet(sizes=sizes, ground_truth=truth)

    reference_hint = "give --images <test image folder>, or --gt <ground truth>"
    id_separators = ";,"

    def unchecked(self, reference: ImageSet | None) -> list[str]:
        if reference is not None and any(size is None for size in reference.sizes.values()):
            return ["regions inside their image (needs the image sizes: give --images <test image folder>)"]
        return super().unchecked(reference)

    def restrict(
        self, run: Mapping[str, Sequence[Region]], reference: ImageSet, ids: Sequence[str]
    ) -> tuple[dict[str, Sequence[Region]], ImageSet]:
        """As TaskSpec.restrict (image sizes are cut and renamed with the ground truth); the test subsets
        are left out, as a resample is not split into subsets."""
        kept_run, kept = super().restrict(run, reference, ids)
        kept.subsets = {}
        return kept_run, kept

    def with_subsets(self, reference: ImageSet, path: str | Path) -> ImageSet:
        """Adds test subsets from a file of `image_id subset` lines (space, tab, comma or ';' separated)."""
        problems = ProblemCollector(path)
        subsets: dict[str, list[str]] = {}
        for number, text in read_lines(path, problems):
            fields = re.split(r"[\s,;]+", text.strip())
            if len(fields) != 2:
                problems.add(number, f"expected 'image_id subset', got {text!r}")
            elif fields[0] not in reference.sizes:
                problems.add(number, f"unknown image {fields[0]!r}")
            else:
                subsets.setdefault(fields[1], []).append(fields[0])
        problems.raise_if_any()
        reference.subsets = subsets
        return reference

    def parse_run(self, path: str | Path, reference: ImageSet | None) -> RegionArrays:
        """The run's regions kept as arrays (`RegionArrays`: image id -> `Region`s on access), so that a
        run of millions of boxes is scored in bounded memory."""
        return parse_grouped_arrays(
            path, self._classes, self.geometry, reference, self.tolerance, max_per_class=self.max_detections
        )

    def validate(self, path: str | Path, reference: ImageSet | None) -> None:
        parse_grouped_file(
            path, self._classes, self.geometry, reference, self.tolerance, max_per_class=self.max_detections, keep=False
        )

    def score(self, run: Mapping[str, Sequence[Region]], reference: ImageSet) -> dict[str, float]:
        if reference.ground_truth is None:
            raise ValueError(f"{self.name}: scoring needs ground truth")
        truth = reference.ground_truth
        scores = self.score_subset(run, truth, reference)
        for subset, ids in sorted(reference.subsets.items()):
            part = {i: truth.get(i, []) for i in ids}
            for key, value in self.score_subset(run, part, reference).items():
                scores[f"{key}/{subset}"] = value
        return scores

    def score_subset(
        self, run: Mapping[str, Sequence[Region]], truth: Mapping[str, Sequence[Region]], reference: ImageSet
    ) -> dict[str, float]:
        """Scores over the images of truth (all of them, or one subset)."""
        return self.scores_of(self.matches(run, truth, reference))

    def matches(
        self, run: Mapping[str, Sequence[Region]], truth: Mapping[str, Sequence[Region]], reference: ImageSet
    ) -> RegionMatches:
        """COCOeval's matches over the images of truth, at the task's thresholds (`scores_of`)."""
        # IoU 0 means any overlap: matching needs IoU > 0
        thresholds = [self.iou_threshold, *(max(t, 1e-9) for t in self.extra_iou_thresholds)]
        return region_matches(run, truth, reference.sizes, self.geometry, thresholds, self.max_detections)

    def resampling(self, run: dict[str, list[Region]], reference: ImageSet, items: Sequence[str]) -> RegionResampling:
        """COCOeval matches each image once; a resample pools the drawn images' matches (`scores_of`)."""
        truth = reference.ground_truth or {}
        return RegionResampling(self.scores_of, self.matches(run, {item: truth[item] for item in items}, reference))

    def scores_of(self, matches: RegionMatches, order: np.ndarray | None = None) -> dict[str, float]:
        """The scores of the images order (indices into the matches' images, repeats counted; default all)."""
        primary, *extra = detection_scores(matches, order)
        tag = _tag(self.iou_threshold)
        scores = {f"{key}_{tag}": primary[key] for key in ("map", "precision", "recall")}
        for threshold, at in zip(self.extra_iou_thresholds, extra, strict=True):
            scores[f"map_{_tag(threshold)}"] = at["map"]
            scores[f"recall_{_tag(threshold)}"] = at["recall"]
        return scores


@dataclass(frozen=True)
class RegionResampling:
    """A region run's scores on resamples of its images, from COCOeval's matches of each image
    (`RegionMatches`): COCO's AP over a resample is that of the drawn images' matches in draw order."""

    score: Callable[[RegionMatches, np.ndarray | None], dict[str, float]]
    matches: RegionMatches

    def scores(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        rows = [self.score(self.matches, order) for order in draws]
        metrics = dict.fromkeys(metric for row in rows for metric in row)  # some resamples lack a class's score
        return {metric: np.asarray([row.get(metric, np.nan) for row in rows], np.float64) for metric in metrics}

    def whole(self) -> dict[str, float]:
        """`score_subset` of all the images: the same matches, every image once in order."""
        return self.score(self.matches, None)


def _tag(threshold: float) -> str:
    """0.5 -> "50", 0 -> "0", 0.75 -> "75": the suffix of metric names."""
    return str(round(threshold * 100))
