"""COCOeval's box matching (`COCOeval.evaluate` with `iouType="bbox"`) on flat arrays, every image at once.

Hand-written because it reproduces pycocotools' own matching step for step, quirks included; it is
`evaluation.matches.match_regions` (COCOeval itself, chunk by chunk) without a COCO dict per box, and
gives the same `RegionMatches` to the bit (tests/test_box_matches.py compares the two on randomised
cases with tied scores, tied IoUs, crowd boxes, boxes outside the area range and more detections than
kept). What it reproduces, from pycocotools 2.0's `computeIoU`, `evaluateImg` and `maskApi.c`'s `bbIou`:

- per (image, class): the detections in file order, stably sorted by descending score, the first
  `max_detections` kept; the ground truth in file order, stably sorted so the ignored come last
  (ignored: a crowd box, or an area outside COCO's area range, `AREA_RANGE`);
- the IoU of `bbIou` in double precision, operation for operation (`w = min(x+w) - max(x)`, 0 unless
  both overlaps are positive, `inter / (da + ga - inter)`, `inter / da` against a crowd box);
- the greedy match at each threshold `min(t, 1 - 1e-10)`: each kept detection in turn takes, among the
  ground truth not taken (a crowd box is never taken), the last of those with the highest IoU at or
  above the threshold, a box not ignored before any ignored one; a detection matched to an ignored box
  is ignored, and so is an unmatched one whose own area is outside the range.

The greedy pass runs in rounds over the candidate pairs (IoU at or above the threshold): in each round
every (image, class) matches its first detection that still has a free candidate to the best of them,
so the rounds are as many as the most detections one image and class matches, each a few array
operations over the pairs left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from baselines.evaluation.matches import RegionMatches

AREA_RANGE = (0.0, 1e10)
"""COCOeval's area range as the project sets it (`areaRng = [[0, 1e10]]`): a box outside it is ignored."""

PAIR_BUDGET = 1_000_000
"""Detection-ground truth pairs whose IoU is computed at once: bounds the memory of one step."""


@dataclass(frozen=True)
class Boxes:
    """Boxes of the scored images, in file order within each image.

    Attributes:
        image: (N,) the scored image each belongs to (0..n-1).
        label: (N,) its class.
        score: (N,) its confidence (unused for ground truth).
        xywh: (N, 4) float64 [x, y, width, height] as COCO holds it (width = xmax - xmin, as read).
        area: (N,) width * height, as pycocotools computes it (checked against `AREA_RANGE`).
        crowd: (N,) COCO's `iscrowd` (ground truth only; the project's ground truth has none).
    """

    image: np.ndarray
    label: np.ndarray
    score: np.ndarray
    xywh: np.ndarray
    area: np.ndarray
    crowd: np.ndarray

    @classmethod
    def from_corners(
        cls,
        image: np.ndarray,
        label: np.ndarray,
        score: np.ndarray,
        corners: np.ndarray,
        crowd: np.ndarray | None = None,
    ) -> Boxes:
        """Boxes from (xmin, ymin, xmax, ymax) corners, int or float (COCO's width is xmax - xmin in the
        corners' own type, as `io.polygons.xywh` computes it)."""
        corners = np.asarray(corners).reshape(-1, 4)
        size = corners[:, 2:] - corners[:, :2]
        area = size[:, 0] * size[:, 1]  # exact for int corners (at most 9 digits each), as Python's int product
        xywh = np.concatenate([corners[:, :2], size], axis=1).astype(np.float64)
        return cls(
            image=np.asarray(image, np.int64),
            label=np.asarray(label, np.int64),
            score=np.asarray(score, np.float64),
            xywh=xywh,
            area=area,
            crowd=np.zeros(len(xywh), bool) if crowd is None else np.asarray(crowd, bool),
        )


def match_boxes(
    truth: Boxes, run: Boxes, images: int, thresholds: Sequence[float], max_detections: int
) -> RegionMatches:
    """COCOeval's matches of run against truth over images 0..images-1 (`match_regions`, "bbox").

    Args:
        truth: The ground-truth boxes (`results` of `RegionMatches` counts the run's, `annotations` these).
        run: The detections.
        images: The number of scored images.
        thresholds: The IoU thresholds.
        max_detections: COCOeval's `maxDets`: detections kept per image and class, the most confident.
    """
    n, steps = images, len(thresholds)
    labels = np.union1d(truth.label, run.label).astype(np.int64)
    classes = labels.size
    # groups (class, image), class-major: the layout of RegionMatches' per-class arrays
    truth_group = np.searchsorted(labels, truth.label) * n + truth.image
    run_group = np.searchsorted(labels, run.label) * n + run.image
    lo, hi = AREA_RANGE
    truth_ignored = truth.crowd | (truth.area < lo) | (truth.area > hi)

    # detections: by group, then descending score, stable (file order among ties), the first max_detections kept
    by_score = np.argsort(-run.score, kind="stable")
    order = by_score[np.argsort(run_group[by_score], kind="stable")]
    group = run_group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if group.size else np.zeros(0, np.int64)
    rank = np.arange(group.size) - np.repeat(starts, np.diff(np.r_[starts, group.size]))
    kept = order[rank < max_detections]
    kept_group = run_group[kept]
    # ground truth: by group, the ignored last, stable (file order otherwise)
    gt_order = np.lexsort((truth_ignored, truth_group))
    gt_group = truth_group[gt_order]

    matched = np.zeros((steps, kept.size), bool)
    matched_ignored = np.zeros((steps, kept.size), bool)
    first = np.searchsorted(gt_group, kept_group, "left")
    count = np.searchsorted(gt_group, kept_group, "right") - first
    for begin, end in _spans(count, kept_group):
        _match_span(truth, run, truth_ignored, kept, kept_group, gt_order, first, count, begin, end, thresholds,
                    matched, matched_ignored)  # fmt: skip
    outside = (run.area[kept] < lo) | (run.area[kept] > hi)
    ignored = np.where(matched, matched_ignored, outside[None, :])

    per_group = np.bincount(kept_group, minlength=classes * n).reshape(classes, n)
    offsets = np.zeros((classes, n + 1), np.int64)
    np.cumsum(per_group, axis=1, out=offsets[:, 1:])
    ends = np.cumsum(per_group.sum(axis=1))
    bounds = np.r_[0, ends]
    kept_image = run.image[kept]
    hits = np.zeros((steps, n), np.int64)
    for t in range(steps):
        hits[t] = np.bincount(kept_image[matched[t]], minlength=n)
    regular = truth_group[~truth_ignored]
    return RegionMatches(
        labels=labels,
        thresholds=np.asarray(thresholds, np.float64),
        max_detections=max_detections,
        offsets=offsets,
        scores=[run.score[kept[bounds[k] : bounds[k + 1]]] for k in range(classes)],
        matched=[matched[:, bounds[k] : bounds[k + 1]] for k in range(classes)],
        ignored=[ignored[:, bounds[k] : bounds[k + 1]] for k in range(classes)],
        truths=np.bincount(regular, minlength=classes * n).reshape(classes, n).astype(np.int64),
        annotations=np.bincount(truth.image, minlength=n).astype(np.int64),
        results=np.bincount(run.image, minlength=n).astype(np.int64),
        hits=hits,
        annotated=tuple(int(label) for label in np.unique(truth.label)),
    )


def _spans(count: np.ndarray, group: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive detections whose pairs with their group's ground truth stay within
    `PAIR_BUDGET`, cut only between groups (a group's greedy pass needs all of its pairs)."""
    total = np.cumsum(count)
    spans, begin = [], 0
    while begin < count.size:
        base = int(total[begin - 1]) if begin else 0
        end = max(int(np.searchsorted(total, base + PAIR_BUDGET, "right")), begin + 1)
        end = int(np.searchsorted(group, group[end - 1], "right"))  # to the end of the group cut
        spans.append((begin, end))
        begin = end
    return spans


def _match_span(
    truth: Boxes,
    run: Boxes,
    truth_ignored: np.ndarray,
    kept: np.ndarray,
    kept_group: np.ndarray,
    gt_order: np.ndarray,
    first: np.ndarray,
    count: np.ndarray,
    begin: int,
    end: int,
    thresholds: Sequence[float],
    matched: np.ndarray,
    matched_ignored: np.ndarray,
) -> None:
    """The greedy matches of the kept detections begin..end-1 (whole groups), written into matched and
    matched_ignored."""
    counts = count[begin:end]
    pair_det = np.repeat(np.arange(begin, end), counts)  # position among the kept detections
    within = np.arange(pair_det.size) - np.repeat(np.cumsum(counts) - counts, counts)
    pair_gt = gt_order[np.repeat(first[begin:end], counts) + within]  # ground truth in its sorted order
    iou = _bb_iou(run.xywh[kept[pair_det]], truth.xywh[pair_gt], truth.crowd[pair_gt])
    for t, threshold in enumerate(thresholds):
        candidate = iou >= min(threshold, 1 - 1e-10)
        det, gt, value = pair_det[candidate], pair_gt[candidate], iou[candidate]
        ignored = truth_ignored[gt]
        # each detection's candidates by preference: not ignored, highest IoU, the last in sorted order
        preference = np.lexsort((-within[candidate], -value, ignored, det))
        det, gt = det[preference], gt[preference]
        group = kept_group[det]
        taken = np.zeros(truth.image.size, bool)
        done = np.zeros(end - begin, bool)
        while det.size:
            # each group's first pair: its lowest-ranked detection with a free candidate, and the best of them
            lead = np.r_[True, group[1:] != group[:-1]]
            d, g = det[lead], gt[lead]
            matched[t, d] = True
            matched_ignored[t, d] = truth_ignored[g]
            taken[g[~truth.crowd[g]]] = True
            done[d - begin] = True
            left = ~done[det - begin] & ~taken[gt]
            det, gt, group = det[left], gt[left], group[left]


def _bb_iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """maskApi.c's `bbIou` pair by pair, in its operation order (so equal to it to the bit)."""
    dx, dy, dw, dh = dt.T
    gx, gy, gw, gh = gt.T
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    inter = w * h
    det_area = dw * dh
    union = np.where(crowd, det_area, det_area + gw * gh - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((w > 0) & (h > 0), inter / union, 0.0)
