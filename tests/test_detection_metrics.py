"""Detection scores against values computed by hand (COCO 101-point interpolated AP at IoU 0.5)."""

from __future__ import annotations

import numpy as np
import pytest

from baselines.evaluation.coco import (
    average_precision_result,
    coco_average_precision,
    region_matches,
    region_records,
)
from baselines.evaluation.detection import mean_average_precision, precision_recall
from baselines.evaluation.matches import match_regions
from baselines.types import Region


def R(label: int, box: tuple[float, float, float, float], score: float = 1.0) -> Region:
    return Region(label, score, box)


GT_TWO = {"img": [R(0, (0, 0, 10, 10)), R(0, (50, 50, 60, 60))]}


def test_perfect_detection() -> None:
    truth = {"img": [R(0, (0, 0, 10, 10))]}
    assert mean_average_precision(truth, truth)["map"] == pytest.approx(1.0)
    assert precision_recall(truth, truth) == {"precision": 1.0, "recall": 1.0}


def test_half_recall_gives_51_of_101_interpolation_points() -> None:
    preds = {"img": [R(0, (0, 0, 10, 10), 0.9)]}
    # precision 1 at recall thresholds 0.00 ... 0.50 (51 of the 101), 0 beyond
    assert mean_average_precision(preds, GT_TWO)["map"] == pytest.approx(51 / 101)
    assert precision_recall(preds, GT_TWO) == {"precision": 1.0, "recall": 0.5}


def test_false_positive_ranked_first() -> None:
    preds = {
        "img": [R(0, (20, 20, 30, 30), 0.9), R(0, (0, 0, 10, 10), 0.8), R(0, (50, 50, 60, 60), 0.7)],
    }
    # P/R after each detection: (0, 0), (1/2, 1/2), (2/3, 1): interpolated precision is 2/3 everywhere
    assert mean_average_precision(preds, GT_TWO)["map"] == pytest.approx(2 / 3, abs=1e-6)
    assert precision_recall(preds, GT_TWO) == pytest.approx({"precision": 2 / 3, "recall": 1.0})


def test_mean_over_classes_with_ground_truth_only() -> None:
    truth = {"img": [R(0, (0, 0, 10, 10)), R(1, (40, 40, 50, 50))]}
    preds = {"img": [R(0, (0, 0, 10, 10), 0.9), R(1, (70, 70, 80, 80), 0.9), R(2, (0, 0, 5, 5), 0.9)]}
    # class 0: AP 1; class 1: AP 0; class 2 has no ground truth and is left out of the mean
    scores = mean_average_precision(preds, truth, per_class=True)
    assert scores["map"] == pytest.approx(0.5)
    assert scores["map_class_0"] == pytest.approx(1.0)
    assert scores["map_class_1"] == pytest.approx(0.0)
    assert "map_class_2" not in scores
    assert precision_recall(preds, truth) == pytest.approx({"precision": 1 / 3, "recall": 0.5})


@pytest.mark.parametrize(("height", "matched"), [(20, True), (21, False)])
def test_iou_threshold_is_inclusive(height: int, matched: bool) -> None:
    truth = {"img": [R(0, (0, 0, 10, 10))]}
    preds = {"img": [R(0, (0, 0, 10, height), 0.9)]}  # IoU = 100 / (10 * height): 0.5 exactly, then below
    assert mean_average_precision(preds, truth)["map"] == pytest.approx(1.0 if matched else 0.0)
    assert precision_recall(preds, truth)["recall"] == (1.0 if matched else 0.0)


def test_wrong_class_does_not_match() -> None:
    truth = {"img": [R(0, (0, 0, 10, 10))]}
    preds = {"img": [R(1, (0, 0, 10, 10), 0.9)]}
    assert precision_recall(preds, truth) == {"precision": 0.0, "recall": 0.0}


def test_one_prediction_matches_one_ground_truth_only() -> None:
    truth = {"img": [R(0, (0, 0, 10, 10))]}
    preds = {"img": [R(0, (0, 0, 10, 10), 0.9), R(0, (0, 0, 10, 10), 0.8)]}
    assert precision_recall(preds, truth) == {"precision": 0.5, "recall": 1.0}
    assert mean_average_precision(preds, truth)["map"] == pytest.approx(1.0)


def test_images_without_predictions_count_as_misses() -> None:
    truth = {"a": [R(0, (0, 0, 10, 10))], "b": [R(0, (0, 0, 10, 10))]}
    preds = {"a": [R(0, (0, 0, 10, 10), 0.9)]}
    assert precision_recall(preds, truth) == {"precision": 1.0, "recall": 0.5}
    assert mean_average_precision(preds, truth)["map"] == pytest.approx(51 / 101)


def test_recall_of_exactly_0_6_keeps_its_interpolation_point() -> None:
    # 5 ground-truth boxes in 3 images, 3 true positives ranked first: precision 1 at the recall points
    # 0.00 ... 0.60. pycocotools gives 61/101 = 0.60396; torchmetrics + faster-coco-eval 1.8 lost the 0.60
    # point to float rounding (60/101 = 0.59406), which is why the scorer runs pycocotools itself.
    truth = {
        "a": [R(0, (0, 0, 10, 10)), R(0, (20, 20, 30, 30))],
        "b": [R(0, (0, 0, 10, 10)), R(0, (40, 40, 50, 50))],
        "c": [R(0, (0, 0, 10, 10))],
    }
    preds = {"a": [R(0, (0, 0, 10, 10), 0.9)], "b": [R(0, (0, 0, 10, 10), 0.8)], "c": [R(0, (0, 0, 10, 10), 0.7)]}
    assert mean_average_precision(preds, truth)["map"] == pytest.approx(61 / 101, abs=1e-9)


def test_at_most_100_detections_per_image_and_class_are_scored() -> None:
    # COCO's default maxDets (pycocotools scores a run so): 100 false positives at 0.9 push the only true
    # positive, at 0.1, out; a detection of another class is kept (the limit is per class).
    truth = {"img": [R(0, (0, 0, 10, 10)), R(1, (0, 0, 10, 10))]}
    misses = [R(0, (20 + k, 20, 25 + k, 25), 0.9) for k in range(100)]
    preds = {"img": [*misses, R(0, (0, 0, 10, 10), 0.1), R(1, (0, 0, 10, 10), 0.5)]}
    scores = mean_average_precision(preds, truth, per_class=True)
    assert scores["map_class_0"] == 0.0 and scores["map_class_1"] == pytest.approx(1.0)
    # with room for all 101, the true positive counts at precision 1/101 for every recall point
    assert mean_average_precision(preds, truth, per_class=True, max_detections=101)["map_class_0"] == pytest.approx(
        1 / 101
    )


def _tied_run(seed: int) -> tuple[dict[str, list[Region]], dict[str, list[Region]]]:
    """12 images, 3 classes, confidences from {0.3, 0.6, 0.9}: many ties across images."""
    rng = np.random.default_rng(seed)
    truth: dict[str, list[Region]] = {}
    run: dict[str, list[Region]] = {}
    for i in range(12):
        places = rng.integers(0, 60, (int(rng.integers(0, 5)), 2))
        labels = rng.integers(0, 3, len(places))
        boxes = [(x, y, x + 20.0, y + 20.0) for x, y in places]
        truth[f"i{i}"] = [Region(int(c), 1.0, box) for c, box in zip(labels, boxes, strict=True)]
        found = [(c, x + float(rng.integers(-6, 7)), y) for c, (x, y) in zip(labels, places, strict=True)]
        noise = [(int(rng.integers(0, 3)), *rng.integers(0, 60, 2).astype(float)) for _ in range(rng.integers(0, 3))]
        run[f"i{i}"] = [
            Region(int(c), float(rng.choice([0.3, 0.6, 0.9])), (x, y, x + 20.0, y + 20.0))
            for c, x, y in found + noise
            if rng.random() < 0.8
        ]
    return run, truth


@pytest.mark.parametrize("seed", range(4))
def test_ap_of_a_resample_from_the_matches_is_cocoevals_on_the_resampled_run(seed: int) -> None:
    """COCO's AP over a resample of images (repeats included) = the drawn images' matches concatenated in
    draw order, equal to the bit to COCOeval scoring the resampled run itself."""
    run, truth = _tied_run(seed)
    ids = list(truth)
    matches = region_matches(run, truth, {}, "box", [0.5, 0.75])
    rng = np.random.default_rng(seed)
    for _ in range(5):
        order = rng.integers(0, len(ids), len(ids))
        names = [f"{ids[i]}#{position}" for position, i in enumerate(order)]
        drawn_truth = {name: truth[ids[i]] for name, i in zip(names, order, strict=True)}
        drawn_run = {name: run[ids[i]] for name, i in zip(names, order, strict=True)}
        (images, annotations, results), *rest = region_records(drawn_run, drawn_truth, {}, "box", chunk=10**6)
        assert not rest
        for t, threshold in enumerate((0.5, 0.75)):
            official = coco_average_precision(images, annotations, results, "bbox", threshold)
            ours = average_precision_result(matches, order, t)
            assert ours["map"] == official["map"] and ours["recall"] == official["recall"]
            assert ours["per_class"] == official["per_class"]


def test_chunks_score_as_one_cocoeval() -> None:
    run, truth = _tied_run(7)
    whole = average_precision_result(region_matches(run, truth, {}, "box", [0.5]))
    images, annotations, results = next(region_records(run, truth, {}, "box", chunk=10**6))
    assert whole["map"] == coco_average_precision(images, annotations, results, "bbox", 0.5)["map"]
    chunked = match_regions(region_records(run, truth, {}, "box", chunk=5), len(truth), "bbox", [0.5], 100)
    parts = average_precision_result(chunked)
    assert (parts["map"], parts["recall"], parts["per_class"]) == (whole["map"], whole["recall"], whole["per_class"])
    assert whole["map"] > 0 and len(whole["per_class"]) == 3
