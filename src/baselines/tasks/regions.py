"""Tasks whose run files use the grouped-region grammar (drawnUI, coral): shared spec."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baselines.data.images import image_size, list_images
from baselines.evaluation.detection import mean_average_precision, precision_recall
from baselines.runfiles.grouped import (
    ImageSet,
    Region,
    RegionKind,
    format_grouped_lines,
    parse_grouped_file,
)
from baselines.tasks.base import TaskSpec


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


class RegionTask(TaskSpec):
    """A task scored by detection mAP on grouped-region run files.

    Args:
        name: Registry name.
        classes: Class names in label order.
        kind: "box" or "polygon" regions.
        iou_threshold: IoU for the primary mAP and for precision/recall.
    """

    def __init__(self, name: str, classes: Sequence[str], kind: RegionKind, iou_threshold: float = 0.5) -> None:
        self.name = name
        self._classes = tuple(classes)
        self.kind: RegionKind = kind
        self.iou_threshold = iou_threshold
        self.primary_metric = "map_50"

    @property
    def classes(self) -> Sequence[str]:
        return self._classes

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        by_image = {str(p["id"]): regions_from_prediction(p) for p in predictions}
        return format_grouped_lines(by_image, self._classes, self.kind)

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> ImageSet:
        sizes: dict[str, tuple[int, int] | None] = {}
        if images is not None:
            sizes = {p.name: image_size(p) for p in list_images(images)}
        truth = None
        if ground_truth is not None:
            truth = parse_grouped_file(
                ground_truth,
                self._classes,
                self.kind,
                ImageSet(sizes) if sizes else None,
                require_all_images=False,
            )
            if not sizes:
                sizes = dict.fromkeys(truth)
        return ImageSet(sizes=sizes, ground_truth=truth)

    def parse_run(self, path: str | Path, reference: ImageSet | None) -> dict[str, list[Region]]:
        return parse_grouped_file(path, self._classes, self.kind, reference)

    def score(self, run: dict[str, list[Region]], reference: ImageSet) -> dict[str, float]:
        if reference.ground_truth is None:
            raise ValueError(f"{self.name}: scoring needs ground truth")
        return self.score_subset(run, reference.ground_truth)

    def score_subset(
        self, run: Mapping[str, Sequence[Region]], truth: Mapping[str, Sequence[Region]]
    ) -> dict[str, float]:
        scores = {"map_50": mean_average_precision(run, truth, self.iou_threshold)["map"]}
        pr = precision_recall(run, truth, self.iou_threshold)
        scores["precision_50"] = pr["precision"]
        scores["recall_50"] = pr["recall"]
        return scores
