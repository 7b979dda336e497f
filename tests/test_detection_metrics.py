"""Detection scores against values computed by hand (COCO 101-point interpolated AP at IoU 0.5)."""

from __future__ import annotations

import pytest

from baselines.evaluation.detection import mean_average_precision, precision_recall
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
