"""`accumulate` (COCO's precision and recall over any sequence of images, repeats counted) against
pycocotools' own `COCOeval.accumulate` loop: transcribed below over the same matches for cases COCOeval
cannot be asked cheaply (tens of thousands of distinct scores, detections it ignores at random), and
COCOeval itself on resampled records where it ignores detections (crowd ground truth)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from baselines.evaluation.coco import average_precision_result, coco_average_precision
from baselines.evaluation.matches import RegionMatches, accumulate, match_regions, recall_points


def _cocoeval_accumulate(matches: RegionMatches, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pycocotools 2.0's `COCOeval.accumulate` for one area range and maxDets, line for line: each class's
    detections of the images in order concatenated, a stable sort by descending score, cumulative sums,
    the precision loop from the right and `searchsorted` at the recall points (pycocotools/cocoeval.py)."""
    points = recall_points()
    thresholds, classes = matches.thresholds.size, matches.labels.size
    precision = -np.ones((thresholds, points.size, classes))
    recall = -np.ones((thresholds, classes))
    for k in range(classes):
        blocks = [slice(matches.offsets[k, i], matches.offsets[k, i + 1]) for i in order]
        scores = np.concatenate([matches.scores[k][b] for b in blocks])
        inds = np.argsort(-scores, kind="mergesort")
        dtm = np.concatenate([matches.matched[k][:, b] for b in blocks], axis=1)[:, inds]
        dt_ig = np.concatenate([matches.ignored[k][:, b] for b in blocks], axis=1)[:, inds]
        npig = int(matches.truths[k, order].sum())
        if npig == 0:
            continue
        tps = np.logical_and(dtm, np.logical_not(dt_ig))
        fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
        tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
        fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
        for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum, strict=True)):
            nd = len(tp)
            rc = tp / npig
            pr = (tp / (fp + tp + np.spacing(1))).tolist()
            q = np.zeros((points.size,)).tolist()
            recall[t, k] = rc[-1] if nd else 0
            for i in range(nd - 1, 0, -1):
                if pr[i] > pr[i - 1]:
                    pr[i - 1] = pr[i]
            found = np.searchsorted(rc, points, side="left")
            try:
                for ri, pi in enumerate(found):
                    q[ri] = pr[pi]
            except IndexError:
                pass
            precision[t, :, k] = np.array(q)
    return precision, recall


def _matches(
    seed: int, images: int, classes: int, per_image: int, grid: int | None, ignore: float, thresholds: int = 2
) -> RegionMatches:
    """Random matches: up to per_image detections of each class and image, scores on a grid of `grid`
    values (ties across and within images) or continuous, each matched and ignored at random; image 0
    without any detection, the last class without any ground truth."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, per_image + 1, (classes, images))
    lengths[:, 0] = 0
    offsets = np.concatenate([np.zeros((classes, 1), np.int64), np.cumsum(lengths, axis=1)], axis=1)
    scores, matched, ignored = [], [], []
    for k in range(classes):
        drawn = rng.integers(1, grid + 1, offsets[k, -1]) / grid if grid else rng.random(offsets[k, -1])
        for i in range(images):  # COCOeval keeps each image's detections by descending score
            block = slice(offsets[k, i], offsets[k, i + 1])
            drawn[block] = drawn[block][np.argsort(-drawn[block], kind="mergesort")]
        scores.append(drawn)
        matched.append(rng.random((thresholds, drawn.size)) < 0.4)
        ignored.append(rng.random((thresholds, drawn.size)) < ignore)
    truths = rng.integers(0, 4, (classes, images))
    truths[-1] = 0
    return RegionMatches(
        labels=np.arange(classes),
        thresholds=np.linspace(0.5, 0.9, thresholds),
        max_detections=100,
        offsets=offsets,
        scores=scores,
        matched=matched,
        ignored=ignored,
        truths=truths,
        annotations=truths.sum(axis=0),
        results=lengths.sum(axis=0),
        hits=np.zeros((thresholds, images), np.int64),
        annotated=tuple(range(classes - 1)),
    )


def _assert_cocoevals(matches: RegionMatches, orders: list[np.ndarray]) -> None:
    for order in orders:
        ours, theirs = accumulate(matches, order), _cocoeval_accumulate(matches, order)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)  # exact


@pytest.mark.parametrize(
    ("grid", "ignore"), [(3, 0.0), (3, 0.2), (20, 0.0), (None, 0.0), (None, 0.3), (2, 0.9)], ids=str
)
def test_accumulate_is_cocoevals_on_resamples(grid: int | None, ignore: float) -> None:
    """Ties (a grid of 2-20 scores), detections COCOeval ignores, repeated and missing images, a class
    without ground truth, images without detections, resamples shorter and longer than the set."""
    matches = _matches(seed=grid or 0, images=30, classes=4, per_image=6, grid=grid, ignore=ignore)
    rng = np.random.default_rng(1)
    orders = [np.arange(30), np.zeros(5, np.int64), np.array([0]), *(rng.integers(0, 30, n) for n in (30, 30, 7, 80))]
    _assert_cocoevals(matches, orders)
    assert accumulate(matches)[0].shape == (2, 101, 4) and (accumulate(matches)[1][:, -1] == -1).all()
    np.testing.assert_array_equal(accumulate(matches)[0], _cocoeval_accumulate(matches, np.arange(30))[0])


def test_accumulate_beyond_65536_distinct_scores() -> None:
    """More distinct (class, score) ranks than 16 bits hold (about 95,000 of 150,000 detections, the
    others tied): the order is sorted in two radix passes, both stable."""
    matches = _matches(seed=5, images=120, classes=3, per_image=830, grid=50_000, ignore=0.05, thresholds=1)
    assert matches.ranking.rank.dtype == np.uint32
    rng = np.random.default_rng(2)
    _assert_cocoevals(matches, [rng.integers(0, 120, 120), np.arange(120)])


def _crowd_records(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """10 images of boxes, a third of the ground truth crowd regions (detections on them are ignored),
    confidences from {0.3, 0.6, 0.9}."""
    rng = np.random.default_rng(seed)
    images, annotations, results = [], [], []

    def detection(number: int, label: int, box: list[float]) -> dict[str, Any]:
        return {"image_id": number, "category_id": label, "bbox": box, "score": float(rng.choice([0.3, 0.6, 0.9]))}

    for number in range(1, 11):
        images.append({"id": number})
        for _ in range(int(rng.integers(0, 4))):
            x, y, label = float(rng.integers(0, 60)), float(rng.integers(0, 60)), int(rng.integers(1, 3))
            crowd = int(rng.random() < 0.35)
            box = [x, y, 20.0, 20.0]
            record = {"image_id": number, "category_id": label, "bbox": box, "area": 400.0, "iscrowd": crowd}
            annotations.append({"id": len(annotations) + 1, **record})
            for _ in range(int(rng.integers(0, 3))):
                results.append(detection(number, label, [x + float(rng.integers(-5, 6)), y, 20.0, 20.0]))
        for _ in range(int(rng.integers(0, 2))):
            stray = [float(v) for v in rng.integers(0, 60, 2)]
            results.append(detection(number, int(rng.integers(1, 3)), [*stray, 15.0, 15.0]))
    return images, annotations, results


def _drawn_records(
    records: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]], order: np.ndarray
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The resampled set as its own COCO records: draw position p is image p + 1."""
    _, annotations, results = records
    drawn_annotations, drawn_results = [], []
    for position, i in enumerate(order):
        for record in annotations:
            if record["image_id"] == i + 1:
                drawn_annotations.append({**record, "id": len(drawn_annotations) + 1, "image_id": position + 1})
        drawn_results.extend({**r, "image_id": position + 1} for r in results if r["image_id"] == i + 1)
    return [{"id": p + 1} for p in range(len(order))], drawn_annotations, drawn_results


@pytest.mark.parametrize("seed", range(3))
def test_ap_of_resamples_with_crowd_ground_truth_is_cocoevals(seed: int) -> None:
    records = _crowd_records(seed)
    matches = match_regions([records], 10, "bbox", [0.5, 0.75], 100)
    assert any(ignored.any() for ignored in matches.ignored)  # the path where COCOeval ignores detections
    rng = np.random.default_rng(seed)
    for order in [np.arange(10), *(rng.integers(0, 10, 10) for _ in range(4))]:
        for t, threshold in enumerate((0.5, 0.75)):
            official = coco_average_precision(*_drawn_records(records, order), "bbox", threshold)
            ours = average_precision_result(matches, order, t)
            assert (ours["map"], ours["recall"], ours["per_class"]) == (
                official["map"],
                official["recall"],
                official["per_class"],
            )
