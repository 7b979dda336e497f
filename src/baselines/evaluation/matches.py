"""COCOeval's matches of a region run as arrays, and the average precision of any sequence of its images.

pycocotools scores in two steps: `COCOeval.evaluate` matches each image's detections of a class to its
ground truth (`evalImgs`: the detections' scores, whether each matched at each IoU threshold, whether
it is ignored, and the ground truth not ignored), and `COCOeval.accumulate` pools those per-image
outcomes over the images into precision and recall. The first step is where the geometry is, and
it stays pycocotools' own (`COCOeval.evaluate`, run on a bounded number of images at a time so that a
run of millions of boxes never becomes millions of COCO dicts at once). Its outcome is kept as a few
flat arrays per class (`RegionMatches`), a few bytes per detection.

The second step is re-implemented here over those arrays (`accumulate`), because `baselines compare`
pools the same per-image outcomes over a thousand bootstrap resamples of the images: COCO's AP over a
resample is the AP of the drawn images' outcomes concatenated in draw order, an image drawn twice
contributing its detections twice. It is pycocotools 2.0's `accumulate` step for step: the order of its
stable merge sort of the pooled scores (which decides precision among tied scores: by score, then draw
position, then position in the image; taken here from one ranking computed once, `RegionMatches.ranking`),
the running maximum of precision from the right, the first point at or above each recall threshold and 0
past the last, so the numbers are COCOeval's to the last bit (tests/test_detection_metrics.py compares
the two on resamples with repeats and tied confidences).
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval, Params

IouType = Literal["bbox", "segm"]

CHUNK_IMAGES = 2000
"""Images matched by one COCOeval: bounds the COCO dicts alive at once (a few hundred thousand boxes)."""

Records = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]
"""A chunk's COCO `images`, ground-truth `annotations` and `results`, images numbered from 1 within it."""


@dataclass(frozen=True)
class RegionMatches:
    """COCOeval's per-(class, image) outcome at some IoU thresholds, for images 0..n-1 in scoring order.

    Attributes:
        labels: The classes (0-based labels) present in the ground truth or the run, sorted: COCOeval's
            categories.
        thresholds: The IoU thresholds, (T,).
        max_detections: Detections kept per image and class (the most confident).
        offsets: (K, n + 1): class k's detections of image i are `[offsets[k, i], offsets[k, i + 1])` of
            its arrays below.
        scores: Per class, (D_k,): each image's kept detections by descending score (stable), images
            in order.
        matched: Per class, (T, D_k) bool: matched a ground-truth region at that threshold.
        ignored: Per class, (T, D_k) bool: ignored by COCOeval (outside its area range).
        truths: (K, n): ground-truth regions COCOeval does not ignore, per class and image.
        annotations: (n,): COCO ground-truth records of each image (AP is 0 when a set of images has none).
        results: (n,): COCO result records of each image (AP is 0 when a set of images has none).
        hits: (T, n): detections that matched, per image (of the kept ones).
        annotated: The labels of the ground-truth records.
    """

    labels: np.ndarray
    thresholds: np.ndarray
    max_detections: int
    offsets: np.ndarray
    scores: list[np.ndarray]
    matched: list[np.ndarray]
    ignored: list[np.ndarray]
    truths: np.ndarray
    annotations: np.ndarray
    results: np.ndarray
    hits: np.ndarray
    annotated: tuple[int, ...]

    @property
    def images(self) -> int:
        return int(self.annotations.size)

    @functools.cached_property
    def ranking(self) -> Ranking:
        """Every class's detections in COCOeval's order for all images (`Ranking`), computed once."""
        ranked, image, rank, classes = [], [], [], []
        start = base = 0
        for k, scores in enumerate(self.scores):
            order = np.argsort(-scores, kind="mergesort")
            ranked.append(order + start)
            image.append(np.repeat(np.arange(self.images), np.diff(self.offsets[k]))[order])
            ties = np.cumsum(scores[order][1:] != scores[order][:-1]) if scores.size else np.zeros(0, np.int64)
            rank.append(base + np.concatenate([[0], ties]).astype(np.int64)[: scores.size])
            classes.append(np.full(scores.size, k))
            start += scores.size
            base += int(ties[-1]) + 1 if scores.size > 1 else 1
        matched = np.concatenate(self.matched, axis=1) if self.matched else np.zeros((self.thresholds.size, 0), bool)
        ignored = np.concatenate(self.ignored, axis=1) if self.ignored else np.zeros((self.thresholds.size, 0), bool)

        def joined(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, np.int64)

        return Ranking(joined(ranked), joined(image), joined(rank), joined(classes), matched, ignored)


@dataclass(frozen=True)
class Ranking:
    """All classes' detections ordered by class, then descending score (stable: image, then position in
    the image): how `accumulate` orders a resample's detections without sorting scores anew.

    Attributes:
        detection: Index of each into the classes' arrays concatenated (class 0's, then class 1's, ...).
        image: Its image.
        rank: Class-major rank of its score: equal within a class for equal scores, increasing after.
        label: Its class position.
        matched, ignored: (T, D) the classes' `matched` and `ignored` concatenated.
    """

    detection: np.ndarray
    image: np.ndarray
    rank: np.ndarray
    label: np.ndarray
    matched: np.ndarray
    ignored: np.ndarray


def match_regions(
    chunks: Iterable[Records],
    images: int,
    iou_type: IouType,
    thresholds: Sequence[float],
    max_detections: int,
) -> RegionMatches:
    """Runs `COCOeval.evaluate` chunk by chunk and keeps its matches as arrays.

    Args:
        chunks: Each chunk's `Records` (images numbered from 1 within the chunk), in image order,
            together holding `images` images.
        images: The number of images of all chunks.
        iou_type: "bbox" or "segm".
        thresholds: The IoU thresholds.
        max_detections: COCOeval's `maxDets`.
    """
    per_class: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    lengths: dict[int, np.ndarray] = {}
    truths: dict[int, np.ndarray] = {}
    annotations = np.zeros(images, np.int64)
    results = np.zeros(images, np.int64)
    hits = np.zeros((len(thresholds), images), np.int64)
    annotated: set[int] = set()
    start = 0
    for chunk_images, chunk_annotations, chunk_results in chunks:
        categories = sorted({r["category_id"] for r in chunk_annotations} | {r["category_id"] for r in chunk_results})
        for category in categories:
            if category not in per_class:
                per_class[category] = []
                lengths[category] = np.zeros(images, np.int64)
                truths[category] = np.zeros(images, np.int64)
        annotated.update(r["category_id"] - 1 for r in chunk_annotations)
        np.add.at(annotations, np.asarray([start + r["image_id"] - 1 for r in chunk_annotations], np.int64), 1)
        np.add.at(results, np.asarray([start + r["image_id"] - 1 for r in chunk_results], np.int64), 1)
        evaluated = _evaluated(chunk_images, chunk_annotations, chunk_results, categories, iou_type, thresholds,
                               max_detections)  # fmt: skip
        for category, image, outcome in evaluated:
            i = start + image
            scores = np.asarray(outcome["dtScores"], np.float64)
            matched = np.asarray(outcome["dtMatches"]).reshape(len(thresholds), -1) > 0
            ignored = np.asarray(outcome["dtIgnore"], bool).reshape(len(thresholds), -1)
            per_class[category].append((scores, matched, ignored))
            lengths[category][i] = scores.size
            truths[category][i] = int(np.count_nonzero(np.asarray(outcome["gtIgnore"]) == 0))
            hits[:, i] += matched.sum(axis=1)
        start += len(chunk_images)
    if start != images:
        raise ValueError(f"the chunks held {start} images, expected {images}")
    kept = sorted(per_class)
    offsets = np.zeros((len(kept), images + 1), np.int64)
    for k, category in enumerate(kept):
        np.cumsum(lengths[category], out=offsets[k, 1:])
    empty = np.zeros((len(thresholds), 0), bool)

    def joined(category: int, part: int) -> np.ndarray:
        arrays = [entry[part] for entry in per_class[category]]
        if part == 0:
            return np.concatenate(arrays) if arrays else np.zeros(0)
        return np.concatenate(arrays, axis=1) if arrays else empty

    return RegionMatches(
        labels=np.asarray([category - 1 for category in kept], np.int64),
        thresholds=np.asarray(thresholds, np.float64),
        max_detections=max_detections,
        offsets=offsets,
        scores=[joined(category, 0) for category in kept],
        matched=[joined(category, 1) for category in kept],
        ignored=[joined(category, 2) for category in kept],
        truths=np.stack([truths[category] for category in kept]) if kept else np.zeros((0, images), np.int64),
        annotations=annotations,
        results=results,
        hits=hits,
        annotated=tuple(sorted(annotated)),
    )


def _evaluated(
    images: list[dict[str, Any]],
    annotations: list[dict[str, Any]],
    results: list[dict[str, Any]],
    categories: list[int],
    iou_type: IouType,
    thresholds: Sequence[float],
    max_detections: int,
) -> list[tuple[int, int, dict[str, Any]]]:
    """`COCOeval.evaluate` on one chunk: (category id, image position in the chunk, evalImgs entry)
    for each (category, image) that has a detection or a ground-truth region."""
    if not categories:
        return []
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress and timings
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations, "categories": [{"id": c} for c in categories]}
        truth.createIndex()
        # loadRes refuses an empty list; images without detections still have their ground truth counted
        detections = truth.loadRes(results) if results else _no_detections(truth)
        evaluator = COCOeval(truth, detections, iou_type)
        evaluator.params.imgIds = [image["id"] for image in images]
        evaluator.params.catIds = categories
        evaluator.params.iouThrs = np.asarray(thresholds, np.float64)
        evaluator.params.areaRng = [[0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.params.maxDets = [max_detections]
        evaluator.evaluate()
    out = []
    n = len(evaluator.params.imgIds)  # sorted by COCOeval: the chunk's numbering is its order
    for position, outcome in enumerate(evaluator.evalImgs):
        if outcome is not None:
            out.append((categories[position // n], position % n, outcome))
    return out


def _no_detections(truth: COCO) -> COCO:
    empty = COCO()
    empty.dataset = {"images": list(truth.dataset["images"]), "annotations": [], "categories": []}
    empty.createIndex()
    return empty


def recall_points() -> np.ndarray:
    """COCO's 101 recall thresholds, as `Params` makes them."""
    return _RECALL_POINTS.copy()


_RECALL_POINTS = Params(iouType="bbox").recThrs


def accumulate(matches: RegionMatches, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`COCOeval.accumulate` over the images `order` (indices, repeats counted; default all, in order).

    Returns:
        precision (T, R, K) at the recall points and recall (T, K), -1 for a class without ground truth
        among those images, as COCOeval's `eval["precision"][:, :, :, 0, 0]` and `eval["recall"][:, :, 0, 0]`.
    """
    points = _RECALL_POINTS
    thresholds, classes = matches.thresholds.size, matches.labels.size
    precision = -np.ones((thresholds, points.size, classes))
    recall = -np.ones((thresholds, classes))
    if order is None:
        order = np.arange(matches.images)
    counts = np.bincount(order, minlength=matches.images)
    by_image = np.argsort(order, kind="stable")  # draw positions, grouped by image
    first = np.cumsum(counts) - counts
    # The drawn detections in COCOeval's order: per class, its stable sort by descending score of the drawn
    # images' detections concatenated in draw order, i.e. by (score, draw position, position in the image).
    ranking = matches.ranking
    copies = counts[ranking.image]
    drawn = np.repeat(ranking.detection, copies)
    copy = np.arange(drawn.size) - np.repeat(np.cumsum(copies) - copies, copies)
    position = by_image[np.repeat(first[ranking.image], copies) + copy]
    picked = drawn[np.argsort(np.repeat(ranking.rank, copies) * order.size + position, kind="stable")]
    ends = np.cumsum(np.bincount(ranking.label, weights=copies, minlength=classes).astype(np.int64))
    valid = ~ranking.ignored[:, picked]
    tp_all = np.cumsum(ranking.matched[:, picked] & valid, axis=1)
    fp_all = np.cumsum(~ranking.matched[:, picked] & valid, axis=1)
    positives_all = matches.truths[:, order].sum(axis=1)
    for k in range(classes):
        positives = int(positives_all[k])
        if positives == 0:
            continue
        begin, end = (int(ends[k - 1]) if k else 0), int(ends[k])
        # a class's running counts: the running counts of all classes less those before it (exact integers)
        tp_sum = (tp_all[:, begin:end] - (tp_all[:, begin - 1 : begin] if begin else 0)).astype(float)
        fp_sum = (fp_all[:, begin:end] - (fp_all[:, begin - 1 : begin] if begin else 0)).astype(float)
        for t in range(thresholds):
            tp, fp = tp_sum[t], fp_sum[t]
            detections = tp.size
            rc = tp / positives
            pr = tp / (fp + tp + np.spacing(1))
            recall[t, k] = rc[-1] if detections else 0
            # precision made non-increasing from the right (pycocotools' loop, as a running maximum)
            pr = np.maximum.accumulate(pr[::-1])[::-1]
            at = np.searchsorted(rc, points, side="left")
            inside = at < detections
            q = np.zeros(points.size)
            q[inside] = pr[at[inside]]
            precision[t, :, k] = q
    return precision, recall


def mean_precision(precision: np.ndarray) -> float:
    """COCO's mAP of one threshold's (R, K) precision: the mean over the classes with ground truth."""
    valid = precision > -1
    return float(precision[valid].mean()) if valid.any() else 0.0


def mean_recall(recall: np.ndarray) -> float:
    valid = recall > -1
    return float(recall[valid].mean()) if valid.any() else 0.0
