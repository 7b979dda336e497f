"""Coral: official annotation quirks, polygon geometry and grammar, evaluators, both pipelines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image

from baselines.data.base import collate_dicts
from baselines.data.detection import DetectionRecord, balanced_image_weights
from baselines.data.formats.coral import CORAL_CLASSES, parse_coral_annotations
from baselines.data.polygons import fill_polygons, mask_to_polygons
from baselines.evaluation.segmentation import pixel_iou, polygon_map
from baselines.pipeline import run
from baselines.runfiles.grouped import format_grouped_lines, parse_grouped_file
from baselines.tasks import get_task
from baselines.types import Region
from conftest import train_steps

FIXTURES = Path(__file__).parent / "fixtures" / "coral"
Compose = Callable[..., DictConfig]
TINY = ("synthetic.n_train=6", "synthetic.n_test=4")


def test_box_file_quirks_are_normalised_and_counted() -> None:
    regions, report = parse_coral_annotations(FIXTURES / "annotations_boxes.txt", "box")
    first = regions["2018_0714_112502_037"]
    assert [r.box for r in first] == [(10, 20, 40, 50), (60, 5, 80, 30), (0, 2, 7, 12)]  # xmin ymax xmax ymin order
    assert [CORAL_CLASSES[r.label] for r in first] == ["c_soft_coral", "c_sponge", "c_algae_macro_or_leaves"]
    assert len(regions["2018_0729_112409_024"]) == 1  # the zero-width fire-coral box is skipped
    assert (report.regions, report.negative_coordinates, report.degenerate_boxes) == (4, 1, 1)


def test_polygon_file_quirks_are_handled_and_counted() -> None:
    regions, report = parse_coral_annotations(FIXTURES / "annotations_polygons.txt", "polygon")
    sponge = regions["2018_0714_112502_037"][1]
    np.testing.assert_array_equal(sponge.polygon, [[60, 5], [80, 5], [70, 30]])  # the -1 -1 vertex dropped
    assert sponge.box == (60, 5, 80, 30)
    assert len(regions["2018_0714_112502_037"]) == 2  # the one-point polygon is skipped
    assert (report.regions, report.negative_coordinates, report.degenerate_polygons) == (3, 1, 1)


def test_polygon_run_round_trip(tmp_path: Path) -> None:
    regions = [
        Region(9, 0.75, (1, 1, 5, 5), (1, 1, 5, 1, 5, 5)),
        Region(0, 0.5, (0, 0, 9, 9), (0, 0, 9, 0, 9, 9, 0, 9)),
    ]
    path = tmp_path / "run.txt"
    path.write_text(format_grouped_lines({"a": regions}, CORAL_CLASSES, "polygon"))
    assert path.read_text() == "a;c_hard_coral_branching 0.5:0+0+9+0+9+9+0+9;c_sponge 0.75:1+1+5+1+5+5\n"
    assert set(parse_grouped_file(path, CORAL_CLASSES, "polygon")["a"]) == set(regions)


def test_polygon_mask_round_trip() -> None:
    mask = np.zeros((60, 80), np.uint8)
    mask[10:30, 20:50] = 1
    mask[40:55, 5:15] = 1
    polygons = mask_to_polygons(mask, epsilon=0.5)
    assert len(polygons) == 2
    assert np.array_equal(fill_polygons(polygons, 60, 80), mask)


def _square(x0: int, y0: int, x1: int, y1: int, label: int = 0, score: float = 1.0) -> Region:
    return Region(label, score, (x0, y0, x1, y1), (x0, y0, x1, y0, x1, y1, x0, y1))


def test_polygon_map_and_pixel_iou_by_hand() -> None:
    truth = {"a": [_square(0, 0, 10, 10), _square(20, 20, 30, 30)]}
    # one of two regions found: precision 1 up to recall 0.5 -> 51 of 101 interpolation points
    assert polygon_map({"a": [_square(0, 0, 10, 10, score=0.9)]}, truth, {"a": (40, 40)}) == pytest.approx(
        {"map": 51 / 101, "recall": 0.5}
    )
    # OpenCV fills boundary pixels: squares of 11x11 = 121 px; prediction 11x21 = 231 px
    # intersection 121, union 121 + 121 + 231 - 121 = 352
    iou = pixel_iou({"a": [_square(0, 0, 10, 20, score=0.9)]}, truth, {"a": (40, 40)}, len(CORAL_CLASSES))
    assert iou == pytest.approx({0: 121 / 352})


def test_pixel_iou_pools_over_images_before_dividing() -> None:
    truth = {"a": [_square(0, 0, 9, 9)], "b": [_square(0, 0, 9, 9)]}  # 100 px each
    preds = {"a": [_square(0, 0, 9, 9)], "b": [_square(20, 20, 29, 29)]}
    # pooled: (100 + 0) / (100 + 200) = 1/3; a mean of per-image IoUs would give 1/2
    assert pixel_iou(preds, truth, {"a": (40, 40), "b": (40, 40)}, 13) == pytest.approx({0: 1 / 3})


def test_map_at_zero_counts_any_overlap(tmp_path: Path) -> None:
    truth = tmp_path / "gt.txt"
    truth.write_text("img 0 c_sponge 1 0 10 10 0\n")
    run_file = tmp_path / "run.txt"
    run_file.write_text("img;c_sponge 0.9:10x10+8+8\n")  # overlaps the ground truth by 2x2 px only
    spec = get_task("coral_boxes")
    scores = spec.evaluate_file(run_file, spec.load_reference(truth, None))
    assert scores["map_50"] == 0.0 and scores["map_0"] == pytest.approx(1.0)
    assert scores["recall_50"] == 0.0 and scores["recall_0"] == 1.0


def test_per_subset_scores(tmp_path: Path) -> None:
    for name in ("a", "b"):
        Image.new("RGB", (50, 50)).save(tmp_path / f"{name}.jpg")
    (tmp_path / "gt.txt").write_text("a 0 c_sponge 1 0 10 10 0\nb 0 c_sponge 1 0 10 10 0\n")
    (tmp_path / "subsets.txt").write_text("a same_location\nb geographically_distinct\n")
    (tmp_path / "run.txt").write_text("a;c_sponge 0.9:10x10+0+0\nb\n")
    spec = get_task("coral_boxes")
    reference = spec.with_subsets(spec.load_reference(tmp_path / "gt.txt", tmp_path), tmp_path / "subsets.txt")
    scores = spec.evaluate_file(tmp_path / "run.txt", reference)
    assert scores["recall_50"] == 0.5
    assert scores["recall_50/same_location"] == 1.0 and scores["recall_50/geographically_distinct"] == 0.0


def test_balanced_weights_favour_rare_classes() -> None:
    def record(labels: list[int]) -> DetectionRecord:
        return DetectionRecord("x", Path("x"), np.zeros((len(labels), 4)), np.array(labels, np.int64))

    weights = balanced_image_weights([record([0, 0]), record([0, 1]), record([])], num_classes=2)
    assert weights.tolist() == pytest.approx([1 / 3, 1.0, 1 / 3])


@pytest.mark.parametrize("name", ["coral_boxes", "coral_polygons"])
def test_fast_dev_run(demo_cfg: Compose, name: str) -> None:
    cfg = demo_cfg(name, *TINY, "debug=fast_dev_run")
    instantiate(cfg.synthetic)
    summary = run(cfg)
    get_task(name).parse_run(summary["run_file"], None)


def test_full_polygon_run_is_validated_and_scored_per_subset(demo_cfg: Compose) -> None:
    cfg = demo_cfg("coral_polygons", *TINY, "trainer.max_epochs=1", "data.image_size=128")
    instantiate(cfg.synthetic)
    scores = run(cfg)["scores"]
    assert {"map_50", "recall_50", "pixel_iou", "map_50/same_location"} <= set(scores)


def test_segmenter_overfits_one_batch(demo_cfg: Compose) -> None:
    torch.manual_seed(0)
    cfg = demo_cfg("coral_polygons", *TINY, "data.image_size=128")
    instantiate(cfg.synthetic)
    dataset = instantiate(cfg.data).dataset("train")
    batch = collate_dicts([dataset[i] for i in range(4)])
    module = instantiate(cfg.model)
    losses = train_steps(module, batch, steps=60, lr=3e-3)
    module.eval()
    with torch.no_grad():
        predicted = module(batch["image"]).argmax(1)
    foreground = batch["mask"] > 0
    assert losses[-1] < 0.2 * losses[0]
    assert (predicted == batch["mask"])[foreground].float().mean() > 0.5


def test_vectorise_maps_components_back_to_original_pixels(demo_cfg: Compose) -> None:
    module = instantiate(demo_cfg("coral_polygons").model)
    probabilities = np.zeros((14, 64, 64), np.float32)
    probabilities[0] = 1.0
    probabilities[0, 10:30, 20:40] = 0.1
    probabilities[5, 10:30, 20:40] = 0.9  # class index 4 (channel 5), a 20x20 square
    out = module.vectorise(probabilities, scale=0.5, height=120, width=100)  # letterboxed: 60x50 valid
    assert out["labels"].tolist() == [4]
    assert out["scores"].tolist() == pytest.approx([0.9])
    assert out["boxes"][0].tolist() == pytest.approx([40, 20, 78, 58])  # (20..39, 10..29) / 0.5
