"""ImageCLEFcoral 2020: 13 reef substrates.

- `coral_boxes` (annotation & localisation): run file `img_id;substrate conf:WxH+X+Y,...`;
  MAP@0.5 primary, MAP@0 (any overlap), precision and recall.
- `coral_polygons` (pixel-wise parsing): run file `img_id;substrate conf:x1+y1+x2+y2+...,...`;
  mask MAP@0.5 primary, recall, and the organisers' pixel IoU: per substrate and pooled, from one
  label map per image (`evaluation.segmentation.pixel_iou`).

Image ids are file stems. Ground truth is read from the official training-annotation format
(`baselines.io.formats.coral.read_coral_annotations`) with its geometry as written (-1 coordinates,
zero-width boxes, polygons without area), as the official tools see it. Subtask 2 run
files are read as that evaluator reads them (`io.grouped.CORAL_PIXEL`: e.g. a test image without a
run line is scored as having no region, with a `FormatWarning`). Per-subset
scores (the four 2020 test subsets) come with `evaluation.subsets=FILE` / `baselines evaluate --subsets FILE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from baselines.errors import FormatError, Problem
from baselines.evaluation.coco import average_precision_result, region_matches
from baselines.evaluation.matches import RegionMatches
from baselines.evaluation.segmentation import ImagePixels, image_pixels, pixel_scores
from baselines.io.formats.coral import CORAL_CLASSES, AnnotationKind, read_coral_annotations
from baselines.io.grouped import CORAL_PIXEL, STRICT, Tolerance
from baselines.io.polygons import flat
from baselines.tasks.regions import RegionResampling, RegionSpec
from baselines.types import ImageSet, Region

PIXEL_DRAW_ORDER: tuple[str, ...] = tuple(sorted(CORAL_CLASSES))
"""The order in which the organisers' pixel evaluator draws substrates into an image's label map (its
`SUBSTRATE_LIST`, alphabetical; aCampello/clef_coral@6bf48424:pixel_accuracy.py L9-23): where two
substrates overlap, the later one owns the pixel."""


class CoralSpec(RegionSpec):
    """A coral subtask: grouped-region run files, ground truth in the official annotation format."""

    def __init__(
        self,
        name: str,
        geometry: AnnotationKind,
        extra_iou_thresholds: Sequence[float] = (),
        tolerance: Tolerance = STRICT,
    ) -> None:
        super().__init__(name, CORAL_CLASSES, geometry, 0.5, extra_iou_thresholds, id_from="stem", tolerance=tolerance)

    def read_ground_truth(self, path: str | Path, reference: ImageSet | None) -> dict[str, list[Region]]:
        regions, _ = read_coral_annotations(path, self.geometry)  # as written: what the official tools see
        if reference is not None:
            unknown = sorted(set(regions) - set(reference.sizes))
            if unknown:
                raise FormatError(
                    [Problem(str(path), None, f"images not in the image folder: {', '.join(unknown[:5])}")]
                )
        return {
            image_id: [
                Region(r.label, 1.0, r.box, flat(r.polygon) if self.geometry == "polygon" else ()) for r in items
            ]
            for image_id, items in regions.items()
        }


class CoralPolygonSpec(CoralSpec):
    """Subtask 2: polygons scored by mask mAP and by the organisers' pixel IoU."""

    def __init__(self) -> None:
        super().__init__("coral_polygons", "polygon", tolerance=CORAL_PIXEL)
        self.draw_order = tuple(CORAL_CLASSES.index(name) for name in PIXEL_DRAW_ORDER)

    def score_subset(
        self, run: Mapping[str, Sequence[Region]], truth: Mapping[str, Sequence[Region]], reference: ImageSet
    ) -> dict[str, float]:
        return self.polygon_scores(*self.per_image(run, truth, reference))

    def per_image(
        self, run: Mapping[str, Sequence[Region]], truth: Mapping[str, Sequence[Region]], reference: ImageSet
    ) -> tuple[RegionMatches, ImagePixels]:
        """What the scores sum or pool over the images of truth: COCOeval's mask matches, pixel counts."""
        matches = region_matches(run, truth, reference.sizes, "polygon", [self.iou_threshold], self.max_detections)
        return matches, image_pixels(run, truth, reference.sizes, self.draw_order, len(self.classes))

    def polygon_scores(
        self, matches: RegionMatches, pixels: ImagePixels, order: np.ndarray | None = None
    ) -> dict[str, float]:
        """The scores over the images order (indices, repeats counted; default all)."""
        masks = average_precision_result(matches, order)
        scores = {"map_50": masks["map"], "recall_50": masks["recall"]}
        organisers, independent = pixel_scores(pixels, self.draw_order, len(self.classes), order)
        scores["pixel_iou"] = organisers.pooled
        for label, value in organisers.per_class.items():
            scores[f"pixel_iou/{self.classes[label]}"] = value
        # Not the organisers' metric: one mask per substrate (no overwriting), unweighted mean over substrates.
        scores["pixel_iou_independent"] = sum(independent.values()) / len(independent) if independent else 0.0
        return scores

    def resampling(self, run: dict[str, list[Region]], reference: ImageSet, items: Sequence[str]) -> RegionResampling:
        truth = reference.ground_truth or {}
        matches, pixels = self.per_image(run, {item: truth[item] for item in items}, reference)
        return RegionResampling(lambda _, order: self.polygon_scores(matches, pixels, order), matches)


TASKS = [CoralSpec("coral_boxes", "box", extra_iou_thresholds=(0.0,)), CoralPolygonSpec()]
