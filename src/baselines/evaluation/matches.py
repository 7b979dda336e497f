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
contributing its detections twice. It gives pycocotools 2.0's `accumulate` numbers to the last bit: the
order of its stable merge sort of the pooled scores (which decides precision among tied scores: by score,
then draw position, then position in the image), here the drawn images' detections in draw order sorted
stably by a score rank computed once (`RegionMatches.ranking`; a linear-time radix sort); its precision
`tp / (fp + tp + eps)` as it computes it, taken only at the true positives (between two, precision only
falls, so the running maximum from the right that pycocotools takes is a maximum over true positives);
the first position at or above each recall threshold (from the number of true positives that reaches
it, as its division decides) and 0 past the last. tests/test_detection_metrics.py compares the two on
resamples with repeats and tied confidences, tests/test_accumulate.py with pycocotools' loop transcribed
over the same matches (ignored detections, 16 bits of ranks exceeded).
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
        """Every detection's class-major score rank, laid out image by image (`Ranking`), computed once."""
        thresholds, classes = self.thresholds.size, self.labels.size
        lengths = np.diff(self.offsets, axis=1) if classes else np.zeros((0, self.images), np.int64)
        ranks, images = [], []
        base = 0
        for k, scores in enumerate(self.scores):
            order = np.argsort(-scores, kind="mergesort")
            distinct = np.concatenate([[0], np.cumsum(scores[order][1:] != scores[order][:-1])]).astype(np.int64)
            rank = np.empty(scores.size, np.int64)
            rank[order] = base + distinct[: scores.size]
            ranks.append(rank)
            images.append(np.repeat(np.arange(self.images), lengths[k]))
            base += int(distinct[scores.size - 1]) + 1 if scores.size else 0
        empty = np.zeros((thresholds, 0), bool)
        matched = np.concatenate(self.matched, axis=1) if self.matched else empty
        ignored = np.concatenate(self.ignored, axis=1) if self.ignored else empty
        image = np.concatenate(images) if images else np.zeros(0, np.int64)
        by_image = np.argsort(image, kind="stable")  # image, then class, then position: an image's block
        rank = np.concatenate(ranks)[by_image] if ranks else np.zeros(0, np.int64)
        sizes = lengths.sum(axis=0)
        return Ranking(
            first=np.cumsum(sizes) - sizes,
            sizes=sizes,
            lengths=lengths,
            rank=rank.astype(np.uint16 if base <= 1 << 16 else np.uint32),
            gains=(matched & ~ignored)[:, by_image],
            ignored=ignored[:, by_image],
            ignores=np.any(ignored, axis=1),
        )


@dataclass(frozen=True)
class Ranking:
    """All classes' detections image by image (image, then class, then position in the image), each with
    the rank of its score: how `accumulate` orders a resample's detections without sorting scores anew.

    Attributes:
        first: (n,) where each image's block starts.
        sizes: (n,) the detections of each image (all classes).
        lengths: (K, n) the detections of each class and image.
        rank: (D,) class-major rank of each detection's score: equal within a class for equal scores,
            increasing with the class and with decreasing score (`uint16` when they fit: a radix sort).
        gains: (T, D) a true positive at each threshold: matched and not ignored.
        ignored: (T, D) ignored by COCOeval: neither a true nor a false positive.
        ignores: (T,) whether COCOeval ignores any detection at each threshold.
    """

    first: np.ndarray
    sizes: np.ndarray
    lengths: np.ndarray
    rank: np.ndarray
    gains: np.ndarray
    ignored: np.ndarray
    ignores: np.ndarray


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
    counts = np.ones(matches.images, np.int64) if order is None else np.bincount(order, minlength=matches.images)
    positives = matches.truths @ counts  # ground truth COCOeval does not ignore, per class (whole numbers)
    scored = np.flatnonzero(positives > 0)  # a class without ground truth keeps -1
    if not scored.size:
        return precision, recall
    ranking = matches.ranking
    drawn = _drawn(ranking, order)
    sizes = ranking.lengths @ counts  # the drawn detections of each class, which come class by class
    ends = np.cumsum(sizes)
    begins = ends - sizes
    needed = _needed_hits(positives[scored].astype(np.float64))
    for t in range(thresholds):
        hits = np.flatnonzero(ranking.gains[t, drawn])  # positions of the true positives, class by class
        first = np.searchsorted(hits, begins)  # a class's first true positive among hits
        found = np.searchsorted(hits, ends) - first
        label = np.repeat(np.arange(classes), found)
        # COCOeval's tp and fp counts, and its precision, at each true positive (from the class's start)
        tp = np.arange(hits.size) - first[label] + 1
        fp = hits - begins[label] + 1 - tp  # the class's detections up to the hit, less true positives ...
        if ranking.ignores[t]:  # ... less those COCOeval ignores, which count as neither
            ignored = np.concatenate([[0], np.cumsum(ranking.ignored[t, drawn])])
            fp -= ignored[hits + 1] - ignored[begins][label]
        pr = tp / (fp.astype(np.float64) + tp + np.spacing(1))
        recall[t, scored] = found[scored] / positives[scored]
        precision[t][:, scored] = _interpolated(pr, first[scored], found[scored], needed).T
    return precision, recall


def _drawn(ranking: Ranking, order: np.ndarray | None) -> np.ndarray:
    """The drawn detections (indices into the ranking's arrays) in COCOeval's order: per class, the stable
    sort by descending score of the drawn images' detections concatenated in draw order, i.e. by (class,
    score, draw position, position in the image): the drawn images' blocks in draw order (so by draw
    position, then class and position), then a stable sort by rank."""
    if order is None:
        drawn = np.arange(ranking.rank.size)
    else:
        sizes = ranking.sizes[order]
        starts = np.cumsum(sizes) - sizes
        drawn = np.arange(int(sizes.sum())) + np.repeat(ranking.first[order] - starts, sizes)
    rank = ranking.rank[drawn]
    if rank.dtype == np.uint16:  # numpy sorts 16-bit integers stably by radix, in linear time
        return drawn[np.argsort(rank, kind="stable")]
    low = np.argsort((rank & 0xFFFF).astype(np.uint16), kind="stable")  # two radix passes, low half first
    return drawn[low[np.argsort((rank[low] >> 16).astype(np.uint16), kind="stable")]]


def _needed_hits(positives: np.ndarray) -> np.ndarray:
    """(classes, R): the fewest true positives whose recall, `tp / positives` in floating point as
    COCOeval divides, reaches each recall point: the first position `np.searchsorted(rc, points)` finds
    is that of this true positive (the class's first detection for 0)."""
    need = np.ceil(positives[:, None] * _RECALL_POINTS[None, :])
    while True:  # the product may be off by one from what the division decides
        lower = (need > 0) & ((need - 1) / positives[:, None] >= _RECALL_POINTS)
        higher = need / positives[:, None] < _RECALL_POINTS
        if not lower.any() and not higher.any():
            return need.astype(np.int64)
        need = need - lower + higher


def _interpolated(pr: np.ndarray, first: np.ndarray, found: np.ndarray, needed: np.ndarray) -> np.ndarray:
    """(classes, R) COCOeval's interpolated precision at the recall points: at the first position reaching
    each point, the maximum precision there or after (0 past the last position).

    Precision falls between true positives (tp stays, fp grows), so the maximum over a class's positions
    from one on is that at the position or at a later true positive: `pr` holds the precision at each
    true positive, class by class (class k's from first[k], found[k] of them). The maximum from each
    point's true positive on is one `maximum.reduceat` over the stretches between the points' true
    positives, then a running maximum from the last point back.
    """
    # a point's true positive within its class (point 0 needs none: the class's first detection, whose
    # precision is that of its first true positive when it is one, else 0)
    at = np.maximum(needed, 1) - 1
    reached = at < found[:, None]
    starts = first[:, None] + np.minimum(at, found[:, None])
    bounds = np.concatenate([starts, (first + found)[:, None]], axis=1)
    stretch = np.maximum.reduceat(np.append(pr, 0.0), bounds.ravel()).reshape(bounds.shape)[:, :-1]
    stretch[~reached] = 0.0
    return np.maximum.accumulate(stretch[:, ::-1], axis=1)[:, ::-1]


def mean_precision(precision: np.ndarray) -> float:
    """COCO's mAP of one threshold's (R, K) precision: the mean over the classes with ground truth."""
    valid = precision > -1
    return float(precision[valid].mean()) if valid.any() else 0.0


def mean_recall(recall: np.ndarray) -> float:
    valid = recall > -1
    return float(recall[valid].mean()) if valid.any() else 0.0
