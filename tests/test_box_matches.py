"""The array box matcher (`evaluation.box_matches`) against pycocotools' COCOeval, to the bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from baselines.evaluation import box_matches
from baselines.evaluation.box_matches import Boxes, match_boxes
from baselines.evaluation.matches import RegionMatches, match_regions

HUGE = (200_000, 100_000)  # an area of 2e10, outside COCO's area range: ignored


def _case(seed: int, images: int = 30) -> tuple[Any, Boxes, Boxes]:
    """Random boxes on a small grid (tied IoUs, zero sizes), tied scores, crowd and huge boxes, images
    with only ground truth or only detections, as COCO records and as `Boxes`."""
    rng = np.random.default_rng(seed)
    annotations: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    truth_rows: list[tuple[int, int, float, tuple[int, int, int, int], bool]] = []
    run_rows: list[tuple[int, int, float, tuple[int, int, int, int], bool]] = []

    def box() -> tuple[int, int, int, int]:
        if rng.random() < 0.05:
            return (int(rng.integers(0, 3)), int(rng.integers(0, 3)), *HUGE)
        x, y = (int(v) for v in rng.integers(0, 4, 2))
        return x, y, int(rng.integers(0, 7)), int(rng.integers(0, 7))

    for image in range(images):
        for _ in range(int(rng.integers(0, 7))):
            x, y, w, h = box()
            label, crowd = int(rng.integers(0, 3)), bool(rng.random() < 0.15)
            annotations.append({"id": len(annotations) + 1, "image_id": image + 1, "category_id": label + 1,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": int(crowd)})  # fmt: skip
            truth_rows.append((image, label, 1.0, (x, y, x + w, y + h), crowd))
        for _ in range(int(rng.integers(0, 12))):
            x, y, w, h = box()
            label, score = int(rng.integers(0, 4)), float(rng.choice([0.2, 0.5, 0.5, 0.9, 1.0]))
            results.append({"image_id": image + 1, "category_id": label + 1, "bbox": [x, y, w, h], "score": score})
            run_rows.append((image, label, score, (x, y, x + w, y + h), False))
    records = ([{"id": i + 1} for i in range(images)], annotations, results)
    return records, _boxes(truth_rows), _boxes(run_rows)


def _boxes(rows: list[tuple[int, int, float, tuple[int, int, int, int], bool]]) -> Boxes:
    image, label, score, corners, crowd = (list(column) for column in zip(*rows, strict=True))
    return Boxes.from_corners(np.array(image), np.array(label), np.array(score), np.array(corners, np.int64),
                              np.array(crowd))  # fmt: skip


def assert_same(ours: RegionMatches, official: RegionMatches) -> None:
    for field in ("labels", "thresholds", "offsets", "truths", "annotations", "results", "hits"):
        assert np.array_equal(getattr(ours, field), getattr(official, field)), field
        assert getattr(ours, field).dtype == getattr(official, field).dtype, field
    for field in ("scores", "matched", "ignored"):
        mine, theirs = getattr(ours, field), getattr(official, field)
        assert len(mine) == len(theirs), field
        for a, b in zip(mine, theirs, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b), field
    assert ours.max_detections == official.max_detections and ours.annotated == official.annotated


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("thresholds", "max_detections"), [([0.5], 100), ([0.5, 0.75, 1e-9, 1.0], 3), ([0.0], 2)])
def test_box_matches_are_cocoevals(seed: int, thresholds: list[float], max_detections: int) -> None:
    records, truth, run = _case(seed)
    official = match_regions([records], 30, "bbox", thresholds, max_detections)
    ours = match_boxes(truth, run, 30, thresholds, max_detections)
    assert_same(ours, official)
    assert any(m.any() for m in official.matched)  # the cases do match something
    assert any(i.any() for i in official.ignored)


def test_pairs_cut_into_spans_match_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pairs are matched a bounded number at a time, never cutting an image's class apart."""
    records, truth, run = _case(99, images=60)
    whole = match_boxes(truth, run, 60, [0.5, 0.1], 100)
    monkeypatch.setattr(box_matches, "PAIR_BUDGET", 7)
    assert_same(match_boxes(truth, run, 60, [0.5, 0.1], 100), whole)
    assert_same(whole, match_regions([records], 60, "bbox", [0.5, 0.1], 100))


def test_no_boxes_at_all() -> None:
    empty = Boxes.from_corners(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, 4), np.int64))
    matches = match_boxes(empty, empty, 4, [0.5], 100)
    assert matches.labels.size == 0 and matches.truths.shape == (0, 4) and matches.offsets.shape == (0, 5)
    assert not matches.annotations.any() and not matches.results.any() and matches.hits.shape == (1, 4)


def test_an_iou_tie_goes_to_the_last_ground_truth_box_as_in_cocoeval() -> None:
    """A detection with IoU 0.6 to two ground-truth boxes takes the later one (COCOeval's `<` test), so a
    less confident detection on exactly that box finds it taken and stays unmatched."""
    truth_corners, run_corners = [(0, 0, 4, 4), (2, 0, 6, 4)], [(1, 0, 5, 4), (2, 0, 6, 4)]
    truth = Boxes.from_corners(np.zeros(2), np.zeros(2), np.ones(2), np.array(truth_corners))
    run = Boxes.from_corners(np.zeros(2), np.zeros(2), np.array([0.9, 0.8]), np.array(run_corners))
    records = (
        [{"id": 1}],
        [{"id": k + 1, "image_id": 1, "category_id": 1, "bbox": [x0, y0, x1 - x0, y1 - y0], "area": 16, "iscrowd": 0}
         for k, (x0, y0, x1, y1) in enumerate(truth_corners)],
        [{"image_id": 1, "category_id": 1, "bbox": [x0, y0, x1 - x0, y1 - y0], "score": s}
         for (x0, y0, x1, y1), s in zip(run_corners, (0.9, 0.8), strict=True)],
    )  # fmt: skip
    ours = match_boxes(truth, run, 1, [0.5], 100)
    assert ours.matched[0].tolist() == [[True, False]]
    assert_same(ours, match_regions([records], 1, "bbox", [0.5], 100))
