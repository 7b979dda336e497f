"""Plots next to the scores: the numbers behind them (hand-computed) and valid PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from baselines.cli import main
from baselines.evaluation.diagnostics import label_set_confusion, region_confusion, region_pr_curves
from baselines.tasks import get_task
from baselines.tasks.medcaption import CaptionReference
from baselines.types import ImageSet, Region
from baselines.visual.plots import write_plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _box(label: int, score: float, x: float, y: float, w: float = 20, h: float = 20) -> Region:
    return Region(label, score, (x, y, x + w, y + h))


def _valid_png(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return image.size


def test_region_confusion_by_hand() -> None:
    truth = {"a": [_box(0, 1, 0, 0), _box(1, 1, 50, 50), _box(2, 1, 80, 0)]}
    run = {
        "a": [
            _box(0, 0.9, 1, 1),  # matches the class-0 truth: diagonal
            _box(0, 0.8, 50, 51),  # on the class-1 truth, called class 0: confusion
            _box(1, 0.7, 0, 80),  # matches nothing: false positive of class 1
            _box(2, 0.2, 80, 0),  # below min_score: not counted, so the class-2 truth is missed
        ]
    }
    matrix = region_confusion(run, truth, {"a": (100, 100)}, "box", 3, 0.5, min_score=0.5)
    expected = np.zeros((4, 4), int)
    expected[0, 0] = expected[1, 0] = expected[3, 1] = expected[2, 3] = 1
    assert (matrix == expected).all()


def test_label_set_confusion_by_hand() -> None:
    truth = {"i1": ["C1", "C2"], "i2": ["C1"], "i3": []}
    run = {"i1": ["c1", "C3"], "i2": [], "i3": ["C1"]}  # i3 has empty truth: skipped, as by the F1
    labels, matrix = label_set_confusion(run, truth, top=2)
    assert labels == ["C1", "C2"]
    assert matrix.tolist() == [[1, 0, 1], [0, 0, 1], [0, 0, 0]]  # C3 is not among the top labels


def test_pr_curves_average_to_the_tasks_map() -> None:
    spec = get_task("drawnui")
    truth = {"a": [_box(0, 1, 0, 0), _box(0, 1, 40, 40), _box(1, 1, 60, 0)], "b": [_box(1, 1, 10, 10)]}
    run = {"a": [_box(0, 0.9, 1, 1), _box(0, 0.6, 70, 70), _box(0, 0.3, 41, 40)], "b": [_box(1, 0.5, 10, 12)]}
    reference = ImageSet({"a": (100, 100), "b": (100, 100)}, truth)
    curves = region_pr_curves(run, truth, reference.sizes, "box")
    assert sorted(curves) == [0, 1]  # one curve per class with ground truth
    # class 1: one of its 2 truths found, first: precision 1 at the 51 recall points 0 .. 0.5 of 101
    assert curves[1].average_precision == pytest.approx(51 / 101)
    mean = np.mean([c.average_precision for c in curves.values()])
    assert mean == pytest.approx(spec.score(run, reference)["map_50"])
    assert len(curves[0].recall) == len(curves[0].precision) == 101


def _square(label: int, score: float, x: float, y: float) -> Region:
    return Region(label, score, (x, y, x + 20, y + 20), (x, y, x + 20, y, x + 20, y + 20, x, y + 20))


def test_polygons_pycocotools_cannot_draw_are_left_out_of_the_curves_as_of_the_map(tmp_path: Path) -> None:
    # coral ground truth read for scoring keeps one- and two-vertex polygons, and the run grammar accepts
    # them; pycocotools cannot rasterise them, so the mask mAP leaves them out and so must the plots. A
    # polygon of 3 collinear vertices is an empty mask there: a ground truth nothing matches (issue 27)
    spec = get_task("coral_polygons")
    point = Region(0, 1, (5, 5, 5, 5), (5.0, 5.0))
    flat_line = Region(0, 1, (1, 5, 9, 5), (1.0, 5.0, 4.0, 5.0, 9.0, 5.0))  # 3 vertices on one horizontal line
    segment = Region(1, 0.9, (5, 5, 30, 30), (5.0, 5.0, 30.0, 30.0))
    truth = {"a": [_square(0, 1, 0, 0), _square(1, 1, 50, 50), point, flat_line], "b": [_square(0, 1, 10, 10)]}
    run = {"a": [_square(0, 0.9, 1, 1), segment, _square(1, 0.7, 50, 52)], "b": [_square(0, 0.6, 40, 40)]}
    reference = ImageSet({"a": (100, 100), "b": (100, 100)}, truth)
    curves = region_pr_curves(run, truth, reference.sizes, "polygon")
    assert sorted(curves) == [0, 1]
    assert curves[0].average_precision == pytest.approx(34 / 101)  # 1 of 3 drawable truths found, first
    mean = np.mean([c.average_precision for c in curves.values()])
    assert mean == pytest.approx(spec.score(run, reference)["map_50"])
    matrix = region_confusion(run, truth, reference.sizes, "polygon", len(spec.classes), 0.5, min_score=0.5)
    expected = np.zeros((14, 14), int)
    expected[0, 0] = expected[1, 1] = 1  # the squares found
    expected[0, 13] = 3  # missed: the point, the line, the square of b
    expected[13, 1] = expected[13, 0] = 1  # false positives: the segment (matches nothing), the square in b
    assert (matrix == expected).all()
    written = write_plots(spec, run, reference, tmp_path / "plots")  # what `evaluate --plots` draws
    assert [p.name for p in written] == ["pr_curves.png", "confusion_matrix.png"]


def test_region_plots_are_valid_pngs(tmp_path: Path) -> None:
    spec = get_task("coral_polygons")
    square = (0.0, 0.0, 20.0, 0.0, 20.0, 20.0, 0.0, 20.0)
    truth = {"r": [Region(0, 1, (0, 0, 20, 20), square)]}
    run = {"r": [Region(0, 0.8, (0, 0, 20, 20), square), Region(3, 0.6, (0, 0, 20, 20), square)]}
    written = write_plots(spec, run, ImageSet({"r": (50, 50)}, truth), tmp_path / "plots")
    assert [p.name for p in written] == ["pr_curves.png", "confusion_matrix.png"]
    assert all(_valid_png(path)[0] > 300 for path in written)


def test_concept_plots_and_tasks_without_plots(tmp_path: Path) -> None:
    truth = {"i1": ["C0000001"], "i2": ["C0000002", "C0000001"]}
    run = {"i1": ["C0000001"], "i2": ["C0000003"]}
    [matrix] = write_plots(get_task("concepts"), run, CaptionReference(set(truth), truth), tmp_path)
    assert matrix.name == "confusion_matrix.png" and _valid_png(matrix)
    assert write_plots(get_task("caption"), {}, CaptionReference(set(), {}), tmp_path / "none") == []
    assert not (tmp_path / "none").exists()


def test_evaluate_writes_plots_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gt.txt").write_text("a.jpg;button 1:20x20+0+0;label 1:30x10+40+40\n")
    (tmp_path / "run.txt").write_text("a.jpg;button 0.9:20x20+1+0;label 0.4:30x10+60+60\n")
    args = ["evaluate", "--task", "drawnui", str(tmp_path / "run.txt"), "--gt", str(tmp_path / "gt.txt")]
    assert main([*args, "--plots", str(tmp_path / "plots")]) == 0
    assert "pr_curves.png" in capsys.readouterr().out
    assert {p.name for p in (tmp_path / "plots").iterdir()} == {"pr_curves.png", "confusion_matrix.png"}
    _valid_png(tmp_path / "plots" / "pr_curves.png")
