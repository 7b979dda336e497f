"""The results page a run leaves in its folder (results.png, per_class.csv, val_pred_*.png), the class
colours and legends of region pictures, and `draw`'s report of what its threshold hid."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image

from baselines.evaluation.coco import region_average_precision
from baselines.io.formats.drawnui import DRAWNUI_CLASSES
from baselines.pipeline import run
from baselines.tasks import get_task
from baselines.types import ImageSet, Region
from baselines.visual.render import class_colours, draw_regions
from baselines.visual.results import plot_training_curves, read_metrics, write_results_page
from baselines.visual.views import legend_entries, region_picture
from conftest import TINY_DRAWNUI

PNG = b"\x89PNG\r\n\x1a\n"


def _png(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == PNG
    with Image.open(path) as image:
        return image.size


def test_a_tiny_training_leaves_curves_per_class_scores_and_pictures(
    demo_cfg: Callable[..., DictConfig], drawnui_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = demo_cfg("drawnui", *TINY_DRAWNUI, "trainer.max_epochs=1", "model.net.box_score_thresh=0.0",
                   "trainer.log_every_n_steps=1", root=drawnui_root)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="baselines"):
        summary = run(cfg)
    folder = Path(cfg.paths.output_dir)
    assert sorted(Path(p).name for p in summary["results"]) == [
        "per_class.csv", "results.png", "val_pred_0.png", "val_pred_1.png", "val_pred_2.png"
    ]  # fmt: skip
    width, height = _png(folder / "results.png")
    assert width > 400 and height > 300
    with open(folder / "per_class.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["class"] for row in rows] == list(DRAWNUI_CLASSES)
    assert list(rows[0]) == ["class", "ground_truth", "predicted", "ap_50"]
    scored = [float(row["ap_50"]) for row in rows if row["ap_50"] != ""]
    # classes without ground truth have no AP, as COCOeval leaves them out of the mean: the mean is the score
    assert [row["ap_50"] == "" for row in rows] == [row["ground_truth"] == "0" for row in rows]
    assert np.mean(scored) == pytest.approx(summary["scores"]["map_50"])
    spec = get_task("drawnui")
    truth = spec.load_reference(drawnui_root / "data/drawnui/test-set.csv", None).ground_truth
    counts = {name: sum(r.label == k for regions in truth.values() for r in regions) for k, name in
              enumerate(DRAWNUI_CLASSES)}  # fmt: skip
    assert {row["class"]: int(row["ground_truth"]) for row in rows} == counts
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "drawnui per class:" in logged and f"{scored[0]:.4f}" in logged
    for k in range(3):
        assert _png(folder / f"val_pred_{k}.png")[0] > 0
    # the curves come from the CSV logger: the training loss and the monitored metric
    series = read_metrics(folder / "csv" / "version_0" / "metrics.csv")
    assert "train/loss" in series and cfg.monitor in series


def test_without_test_ground_truth_the_page_comes_from_the_validation_split(
    demo_cfg: Callable[..., DictConfig], drawnui_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the real-data experiments have no test ground truth: the validation split is predicted and scored instead
    cfg = demo_cfg("drawnui", *TINY_DRAWNUI, "trainer.max_epochs=1", "model.net.box_score_thresh=0.0",
                   "evaluation.ground_truth=null", root=drawnui_root)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="baselines"):
        summary = run(cfg)
    assert summary["scores"] == {}
    folder = Path(cfg.paths.output_dir)
    validation = instantiate(cfg.data).dataset("val")
    assert sorted(Path(p).name for p in summary["results"]) == [
        "per_class.csv", "results.png", *(f"val_pred_{k}.png" for k in range(min(4, len(validation))))
    ]  # fmt: skip
    assert "results page from the validation split (the predicted split has no ground truth)" in caplog.text
    with open(folder / "per_class.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    counts = Counter(int(label) for record in validation.records for label in record.labels)
    assert {row["class"]: int(row["ground_truth"]) for row in rows} == {
        name: counts[k] for k, name in enumerate(DRAWNUI_CLASSES)
    }


def test_training_curves_share_a_panel_per_quantity(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.csv"
    metrics.write_text(
        "epoch,step,train/loss,val/loss,val/map_50,lr-AdamW,test/map_50\n"
        "0,9,1.5,,,,\n0,9,,1.2,0.1,,\n1,19,0.9,,,0.001,\n1,19,,1.0,0.3,,\n1,19,,,,,0.25\n"
    )
    assert read_metrics(metrics)["val/map_50"] == [(0, 9, 0.1), (1, 19, 0.3)]
    assert _png(plot_training_curves(metrics, tmp_path / "results.png", "t")) is not None  # type: ignore[arg-type]
    (tmp_path / "empty.csv").write_text("epoch,step,test/map_50\n0,0,0.5\n")
    assert plot_training_curves(tmp_path / "empty.csv", tmp_path / "none.png", "t") is None
    assert not (tmp_path / "none.png").exists()


def test_without_a_csv_logger_the_page_says_so_and_has_no_curves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="baselines"):
        written = write_results_page(get_task("spll"), tmp_path, [], None, None, None, None)
    assert written == [] and not (tmp_path / "results.png").exists()
    assert "no results.png, this run has no CSV logger (add logger=csv for loss curves)" in caplog.text


def test_class_colours_are_distinct_and_stable() -> None:
    for n in (1, 10, 13, 21, 60, 61, 150):
        colours = class_colours(n)
        assert len(colours) == n == len(set(colours))
        assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in colours)
    assert class_colours(21)[:20] == class_colours(40)[:20]  # a class keeps its colour, whatever the count above 10


def _box(label: int, score: float, x: float, y: float, w: float = 40, h: float = 30) -> Region:
    return Region(label, score, (x, y, x + w, y + h))


def test_the_legend_has_one_entry_per_class_shown() -> None:
    classes = ["a", "b", "c", "d"]
    truth = [_box(2, 1, 10, 10), _box(0, 1, 60, 10), _box(2, 1, 10, 60)]
    predicted = [_box(3, 0.9, 100, 100), _box(1, 0.1, 5, 5)]  # b is below min_score: not shown, not in the legend
    entries = legend_entries([*truth, *[r for r in predicted if r.score >= 0.3]], classes)
    colours = class_colours(4)
    assert entries == [("a", colours[0]), ("c", colours[2]), ("d", colours[3])]
    assert len({colour for _, colour in entries}) == 3


def test_ground_truth_and_prediction_side_by_side_in_class_colours() -> None:
    image = Image.new("RGB", (400, 300), (128, 128, 128))
    classes = ["a", "b"]
    picture = region_picture(image, [_box(1, 0.9, 200, 150, 100, 100)], [_box(0, 1, 20, 20, 100, 100)], classes, 0.3)
    pixels = np.asarray(picture)
    colours = class_colours(2)
    assert picture.width == 400 + 8 + 400  # two panels and the gap
    # the truth's box (class a) in the left panel, the prediction's (class b) in the right one
    rows_a = np.argwhere(np.all(pixels == colours[0], axis=2))
    rows_b = np.argwhere(np.all(pixels == colours[1], axis=2))
    panel_a = rows_a[rows_a[:, 0] < 325]  # titles 25 pixels, panels 300, then the legend
    panel_b = rows_b[rows_b[:, 0] < 325]
    assert panel_a[:, 1].max() < 400 and panel_b[:, 1].min() > 408
    assert (pixels[327:] == colours[0]).all(axis=2).any() and (pixels[327:] == colours[1]).all(axis=2).any()


def test_big_images_are_scaled_down_with_their_regions() -> None:
    image = Image.new("RGB", (4032, 3024), (128, 128, 128))
    picture = region_picture(image, [_box(0, 0.9, 2016, 1512, 1000, 1000)], [], ["a"], 0.3, longest=1024)
    assert picture.width == 1024 + 8 + 1024 and picture.height < 900
    drawn = draw_regions(Image.new("RGB", (100, 100)), [_box(0, 0.9, 10, 10)], ["a"], class_colours(1))
    assert (np.asarray(drawn)[39, 30] == class_colours(1)[0]).all()  # the box's bottom edge, in the class colour


def test_a_region_picture_says_what_the_threshold_hid() -> None:
    image = Image.new("RGB", (300, 200), (128, 128, 128))
    hidden = region_picture(image, [_box(0, 0.1, 10, 10)], None, ["a"], 0.3)
    shown = region_picture(image, [_box(0, 0.1, 10, 10)], None, ["a"], 0.0)
    assert hidden.size == shown.size and hidden.tobytes() != shown.tobytes()


def test_a_tb_per_label_table_is_the_scorers_auc(tmp_path: Path) -> None:
    from baselines.visual.tables import label_table

    spec = get_task("tbct")
    truth = {f"CT{k}.nii.gz": np.array([k % 2, 1, k % 3 == 0, 0, 1, k < 2]) for k in range(6)}
    run_ = {item: np.random.default_rng(len(item) + k).random(6) for k, item in enumerate(truth)}
    reference = type("R", (), {"ground_truth": truth})()
    with pytest.warns(UserWarning):
        scores = get_task("tbct").score(run_, reference)  # type: ignore[arg-type]
    rows = label_table(spec, run_, reference, scores)
    assert [row["class"] for row in rows] == list(spec.labels)  # type: ignore[attr-defined]
    assert all(row["auc"] == scores[f"auc/{row['class']}"] or np.isnan(row["auc"]) for row in rows)
    assert [row["positives"] for row in rows] == [3, 6, 2, 0, 6, 2]


def test_region_table_values_are_cocoevals(tmp_path: Path) -> None:
    from baselines.visual.tables import region_table

    spec = get_task("coral_boxes")
    truth = {"a": [_box(0, 1, 0, 0), _box(1, 1, 50, 50)], "b": [_box(0, 1, 10, 10)]}
    run_ = {"a": [_box(0, 0.9, 1, 1), _box(1, 0.4, 0, 50)], "b": [_box(0, 0.5, 12, 10), _box(5, 0.3, 0, 0)]}
    reference = ImageSet({"a": (200, 200), "b": (200, 200)}, truth)
    scores = spec.score(run_, reference)
    rows = region_table(spec, run_, reference, scores)
    per_class = region_average_precision(run_, truth, reference.sizes, "box", 0.5)["per_class"]
    assert {row["class"]: row["ap_50"] for row in rows if row["ap_50"] is not None} == {
        spec.classes[k]: v for k, v in per_class.items()
    }
    assert np.mean([row["ap_50"] for row in rows if row["ap_50"] is not None]) == pytest.approx(scores["map_50"])
    assert [row["predicted"] for row in rows][:6] == [2, 1, 0, 0, 0, 1]


def test_coral_polygon_rows_carry_the_scorers_pixel_iou() -> None:
    from baselines.visual.tables import region_table

    spec = get_task("coral_polygons")
    square = (10.0, 10.0, 60.0, 10.0, 60.0, 60.0, 10.0, 60.0)
    truth = {"a": [Region(0, 1, (10, 10, 60, 60), square)]}
    run_ = {"a": [Region(0, 0.8, (10, 10, 60, 60), square), Region(2, 0.5, (10, 10, 60, 60), square)]}
    reference = ImageSet({"a": (100, 100)}, truth)
    scores = spec.score(run_, reference)
    rows = {row["class"]: row for row in region_table(spec, run_, reference, scores)}
    first, third = spec.classes[0], spec.classes[2]
    assert rows[first]["ap_50"] == pytest.approx(scores["map_50"]) == pytest.approx(1.0)
    assert rows[first]["pixel_iou"] == scores[f"pixel_iou/{first}"] and rows[third]["ap_50"] is None
    assert list(rows[first]) == ["class", "ground_truth", "predicted", "ap_50", "pixel_iou"]


def test_a_training_without_predictions_still_leaves_its_curves(
    demo_cfg: Callable[..., DictConfig], tmp_path: Path
) -> None:
    tiny = ("synthetic.n_train=16", "synthetic.n_test=4", "trainer.max_epochs=2", "predict=false")
    instantiate(demo_cfg("spll", *tiny).synthetic)
    summary = run(demo_cfg("spll", *tiny))
    assert summary["run_file"] is None
    assert summary["results"] == [str(tmp_path / "out" / "results.png")]
    _png(tmp_path / "out" / "results.png")
