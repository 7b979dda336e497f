"""Coral: official annotation quirks, polygon geometry and grammar, evaluators, both pipelines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image

from baselines.data.detection import DetectionRecord, balanced_image_weights
from baselines.errors import FormatError
from baselines.evaluation.segmentation import independent_pixel_iou, label_map, pixel_iou, polygon_map
from baselines.io.formats.coral import CORAL_CLASSES, parse_coral_annotations, read_coral_annotations
from baselines.io.grouped import format_grouped_lines, parse_grouped_file
from baselines.io.polygons import fill_polygons, has_area, mask_to_polygons
from baselines.pipeline import run
from baselines.tasks import get_task
from baselines.tasks.coral import PIXEL_DRAW_ORDER
from baselines.types import ImageSet, Region
from tasks import KITS

FIXTURES = Path(__file__).parent / "fixtures" / "coral"
REAL = Path(__file__).parent / "fixtures" / "real" / "coral"
# picekl/ImageCLEF2020-Corals@0bd742c6fa95de4199e9c108474c89047235f707:resources/metadata/, the training annotations
# as released (tests/fixtures/real/SOURCES.md): BOXES = ...69c29110-542f-43e9-9c3b-f35563f415ea_annotations_train_2020
# _boxes.cvs.txt, POLYGONS = ...343e39d6-04d9-4ea3-9735-508983485364_annotations_train_2020_polygons.cvs.txt
REAL_BOXES_1_3 = REAL / "coral2020_annotations_train_boxes_lines1-3_crlf.txt"
REAL_BOX_11 = REAL / "coral2020_annotations_train_boxes_line11_negative_coord_crlf.txt"
REAL_POLYGON_1 = REAL / "coral2020_annotations_train_polygons_line1_crlf.txt"
REAL_POLYGON_1476 = REAL / "coral2020_annotations_train_polygons_line1476_single_point_crlf.txt"
ALL = range(len(CORAL_CLASSES))
Compose = Callable[..., DictConfig]
TINY = KITS["coral_polygons"].tiny


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


def test_polygon_file_read_for_scoring_keeps_what_the_organisers_draw() -> None:
    regions, report = read_coral_annotations(FIXTURES / "annotations_polygons.txt", "polygon")
    first = regions["2018_0714_112502_037"]
    np.testing.assert_array_equal(first[1].polygon, [[60, 5], [80, 5], [70, 30], [-1, -1]])  # -1 vertex kept
    np.testing.assert_array_equal(first[2].polygon, [[3, 4]])  # the one-point polygon kept
    assert (report.regions, report.negative_coordinates, report.degenerate_polygons) == (4, 1, 1)
    assert "kept as written" in str(report)


def test_box_file_read_for_scoring_keeps_minus_one_and_zero_width_boxes() -> None:
    # What COCOeval sees: the -1 stays (clipping it turns an IoU of 1/3 into 1/2) and the zero-width box
    # stays a ground truth nothing matches; training clips and skips them (test above).
    regions, report = read_coral_annotations(FIXTURES / "annotations_boxes.txt", "box")
    assert [r.box for r in regions["2018_0714_112502_037"]][2] == (-1, 2, 7, 12)
    assert len(regions["2018_0729_112409_024"]) == 2
    assert (report.regions, report.negative_coordinates, report.degenerate_boxes) == (5, 1, 1)
    assert "kept as written" in str(report)


def _real(tmp_path: Path, *excerpts: Path) -> Path:
    """The excerpts joined byte for byte (their CRLF line ends kept) into one annotation file."""
    path = tmp_path / "annotations.txt"
    path.write_bytes(b"".join(p.read_bytes() for p in excerpts))
    return path


def test_real_box_annotations_crlf_corner_order_and_minus_one(tmp_path: Path) -> None:
    # Boxes file lines 1-3 and 11 (source above): CRLF line ends, the four numbers are xmin ymax xmax ymin,
    # and line 11 has a -1.
    assert all(p.read_bytes().endswith(b"\r\n") for p in (REAL_BOXES_1_3, REAL_BOX_11))
    regions, report = parse_coral_annotations(_real(tmp_path, REAL_BOXES_1_3, REAL_BOX_11), "box")
    boxes = [(CORAL_CLASSES[r.label], r.box) for r in regions["2018_0714_112502_024"]]
    assert boxes == [
        ("c_sponge_barrel", (1336, 1948, 2249, 2648)),  # `1336 2648 2249 1948`: y_max before y_min
        ("c_soft_coral_gorgonian", (2286, 2230, 2668, 2858)),
        ("c_soft_coral", (3016, 2508, 3834, 3008)),
        ("c_soft_coral", (0, 1207, 194, 1802)),  # `-1 1802 194 1207`: -1 clipped to 0
    ]
    assert (report.regions, report.negative_coordinates, report.degenerate_boxes) == (4, 1, 0)
    scored, _ = read_coral_annotations(_real(tmp_path, REAL_BOXES_1_3, REAL_BOX_11), "box")
    assert scored["2018_0714_112502_024"][3].box == (-1, 1207, 194, 1802)  # as written, for scoring


def test_real_polygon_annotations_crlf_repeated_vertices_and_single_point(tmp_path: Path) -> None:
    # Polygons file lines 1 and 1476 (source above): CRLF, repeated consecutive vertices, a one-vertex polygon.
    path = _real(tmp_path, REAL_POLYGON_1, REAL_POLYGON_1476)
    regions, report = parse_coral_annotations(path, "polygon")
    (barrel,) = regions["2018_0714_112502_024"]
    assert CORAL_CLASSES[barrel.label] == "c_sponge_barrel" and len(barrel.polygon) == 24
    assert barrel.box == (1336, 1948, 2249, 2648)  # = the box of line 1 of the boxes file, the same substrate
    assert regions["2018_0714_112534_047"] == []  # the single point is skipped for training ...
    assert (report.regions, report.degenerate_polygons) == (1, 1)
    scored, report = read_coral_annotations(path, "polygon")
    (point,) = scored["2018_0714_112534_047"]  # ... and kept for scoring, as the organisers' evaluator draws it
    np.testing.assert_array_equal(point.polygon, [[3262, 883]])
    assert (report.regions, report.degenerate_polygons) == (2, 1)
    with pytest.raises(FormatError, match="no usable region"):  # a file of nothing but degenerate polygons
        read_coral_annotations(REAL_POLYGON_1476, "polygon")


def test_real_polygon_ground_truth_is_scored_as_drawn(tmp_path: Path) -> None:
    # The one-vertex polygon of line 1476 counts as one ground-truth pixel of c_hard_coral_boulder in the
    # organisers' pixel IoU (a pixel nobody predicts) and is left out of the mask mAP.
    spec = get_task("coral_polygons")
    truth = spec.read_ground_truth(_real(tmp_path, REAL_POLYGON_1, REAL_POLYGON_1476), None)
    sizes = dict.fromkeys(truth, (4032, 3024))
    barrel = truth["2018_0714_112502_024"][0]
    run = {"2018_0714_112502_024": [Region(barrel.label, 0.9, barrel.box, barrel.polygon)]}
    scores = spec.score(run, ImageSet(sizes=sizes, ground_truth=truth))
    area = int(np.count_nonzero(fill_polygons([np.reshape(barrel.polygon, (-1, 2))], 3024, 4032)))
    assert scores["pixel_iou/c_sponge_barrel"] == 1.0 and scores["pixel_iou/c_hard_coral_boulder"] == 0.0
    assert scores["pixel_iou"] == pytest.approx(area / (area + 1))
    assert scores["map_50"] == pytest.approx(1.0)


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
    iou = pixel_iou({"a": [_square(0, 0, 10, 20, score=0.9)]}, truth, {"a": (40, 40)}, ALL)
    assert iou.per_class == pytest.approx({0: 121 / 352}) and iou.pooled == pytest.approx(121 / 352)


def test_polygon_map_leaves_out_polygons_without_area() -> None:
    point = Region(0, 1.0, (30, 30, 30, 30), (30, 30))
    truth = {"a": [_square(0, 0, 10, 10), point]}
    preds = {"a": [_square(0, 0, 10, 10, score=0.9), Region(0, 0.95, (35, 35, 36, 36), (35, 35, 36, 36))]}
    assert polygon_map(preds, truth, {"a": (40, 40)})["map"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("coords", "area"),
    [
        ((5, 5), False),  # a point
        ((5, 5, 9, 9), False),  # a segment
        ((5, 5, 9, 9, 5, 5, 9, 9), False),  # 4 vertices, 2 distinct
        ((1, 5, 4, 5, 9, 5), False),  # 3 distinct vertices on one horizontal line
        ((5, 1, 5, 4, 5, 9), False),  # ... on one vertical line
        ((1, 1, 4, 4, 9, 9), False),  # ... on one slanted line
        ((0, 0, 9, 0, 9, 9), True),
        ((-1, 0, 9, 0, 9, 9), True),  # a -1 vertex kept for scoring
    ],
)
def test_reader_and_scorer_share_one_degenerate_polygon_test(tmp_path: Path, coords: tuple, area: bool) -> None:
    path = tmp_path / "polygons.txt"
    values = " ".join(str(v) for v in coords)
    path.write_text(f"a 1 c_sponge 1 {values}\na 2 c_sponge 1 0 0 9 0 9 9\n")
    _, report = read_coral_annotations(path, "polygon")
    assert report.degenerate_polygons == (0 if area else 1)
    assert has_area(np.reshape(np.asarray(coords, float), (-1, 2))) is area
    assert has_area(np.zeros((0, 2))) is False


def test_pixel_iou_pools_over_images_before_dividing() -> None:
    truth = {"a": [_square(0, 0, 9, 9)], "b": [_square(0, 0, 9, 9)]}  # 100 px each
    preds = {"a": [_square(0, 0, 9, 9)], "b": [_square(20, 20, 29, 29)]}
    # pooled: (100 + 0) / (100 + 200) = 1/3; a mean of per-image IoUs would give 1/2
    iou = pixel_iou(preds, truth, {"a": (40, 40), "b": (40, 40)}, ALL)
    assert iou.per_class == pytest.approx({0: 1 / 3})


ALGAE, SPONGE = CORAL_CLASSES.index("c_algae_macro_or_leaves"), CORAL_CLASSES.index("c_sponge")


def test_pixel_iou_draws_one_label_map_later_substrates_over_earlier() -> None:
    # 10x10 algae and sponge squares overlapping in a 5x5 corner; the run predicts only the algae square
    truth = {"a": [_square(0, 0, 9, 9, ALGAE), _square(5, 5, 14, 14, SPONGE)]}
    preds = {"a": [_square(0, 0, 9, 9, ALGAE, 0.9)]}
    organisers = tuple(CORAL_CLASSES.index(name) for name in PIXEL_DRAW_ORDER)  # algae first, sponge over it
    iou = pixel_iou(preds, truth, {"a": (20, 20)}, organisers)
    # truth map: algae 100 - 25 = 75 px, sponge 100; algae IoU 75 / 100, sponge 0 / 100, pooled 75 / 200
    assert iou.per_class == pytest.approx({ALGAE: 0.75, SPONGE: 0.0})
    assert iou.pooled == pytest.approx(0.375)
    # drawn in the other order (sponge first), algae keeps its corner: IoU 1, sponge 0 / 75, pooled 100 / 175
    iou = pixel_iou(preds, truth, {"a": (20, 20)}, (SPONGE, ALGAE))
    assert iou.per_class == pytest.approx({ALGAE: 1.0, SPONGE: 0.0}) and iou.pooled == pytest.approx(100 / 175)
    # independent masks per class: no overwriting at all
    assert independent_pixel_iou(preds, truth, {"a": (20, 20)}, 13) == pytest.approx({ALGAE: 1.0, SPONGE: 0.0})


def test_label_map_of_same_class_overlap_has_a_hole() -> None:
    # OpenCV fills the polygons of one call with an even-odd rule and draws their outlines: the organisers'
    # evaluator passes all polygons of a substrate at once, so two overlapping ones leave the inside of their
    # overlap (columns 5-9) empty: 3 x 8 pixels of the 150 covered.
    regions = [_square(0, 0, 9, 9), _square(5, 0, 14, 9)]
    drawn = label_map(regions, 10, 20, ALL)
    assert int(np.count_nonzero(drawn)) == 150 - 24
    assert not drawn[1:9, 6:9].any() and drawn[:, 5].all() and drawn[:, 9].all()


def test_pixel_draw_order_is_the_organisers_substrate_list() -> None:
    # SUBSTRATE_LIST of aCampello/clef_coral@6bf48424ba3bd15bccbb602a989052c667da1707:pixel_accuracy.py (L9-23)
    assert PIXEL_DRAW_ORDER == (
        "c_algae_macro_or_leaves",
        "c_fire_coral_millepora",
        "c_hard_coral_boulder",
        "c_hard_coral_branching",
        "c_hard_coral_encrusting",
        "c_hard_coral_foliose",
        "c_hard_coral_mushroom",
        "c_hard_coral_submassive",
        "c_hard_coral_table",
        "c_soft_coral",
        "c_soft_coral_gorgonian",
        "c_sponge",
        "c_sponge_barrel",
    )


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


@pytest.mark.slow
def test_full_polygon_run_is_validated_and_scored_per_subset(demo_cfg: Compose) -> None:
    cfg = demo_cfg("coral_polygons", *TINY, "trainer.max_epochs=1", "data.image_size=128")
    instantiate(cfg.synthetic)
    scores = run(cfg)["scores"]
    assert {"map_50", "recall_50", "pixel_iou", "map_50/same_location"} <= set(scores)


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
