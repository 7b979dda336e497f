"""COCO interop: an exported run and ground truth scored by pycocotools itself give `evaluate`'s mAP;
COCO detections and labelling-tool datasets come back as validated run files."""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from baselines.cli import main
from baselines.errors import FormatError, FormatWarning
from baselines.io.grouped import format_grouped_lines
from baselines.tasks import get_task
from baselines.types import Region

GROUND_TRUTH = {"drawnui": "test-set.csv", "coral_boxes": "annotations_test_2020_boxes.cvs.txt",
                "coral_polygons": "annotations_test_2020_polygons.cvs.txt"}  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from baselines.synthetic import coral, drawnui

    root = tmp_path_factory.mktemp("coco")
    drawnui.generate(root / "drawnui", n_train=0, n_test=3)
    coral.generate(root / "coral", n_train=0, n_test=3)
    return root


def _paths(data: Path, task: str) -> tuple[Path, Path]:
    folder = data / ("drawnui" if task == "drawnui" else "coral")
    return folder / GROUND_TRUTH[task], folder / "test"


def _noisy_run(task: str, gt: Path, images: Path, out: Path) -> Path:
    """The ground truth moved a little, some labels swapped, an extra false positive per image, random scores."""
    spec = get_task(task)
    reference = spec.load_reference(gt, images)
    rng = random.Random(1)
    run = {}
    for image_id, regions in reference.ground_truth.items():
        width, height = reference.sizes[image_id]
        moved = []
        for region in regions:
            dx, dy = rng.randint(-6, 6), rng.randint(-6, 6)
            label = region.label if rng.random() < 0.8 else rng.randrange(len(spec.classes))
            if region.polygon:
                xs = [min(max(v + dx, 0), width) for v in region.polygon[0::2]]
                ys = [min(max(v + dy, 0), height) for v in region.polygon[1::2]]
                polygon = tuple(v for pair in zip(xs, ys, strict=True) for v in pair)
                moved.append(Region(label, round(rng.random(), 3), (min(xs), min(ys), max(xs), max(ys)), polygon))
            else:
                x0, y0, x1, y1 = region.box
                box = (max(0, x0 + dx), max(0, y0 + dy), min(width, x1 + dx), min(height, y1 + dy))
                moved.append(Region(label, round(rng.random(), 3), box))
        extra = (10, 10, 60, 40)
        polygon = (10, 10, 60, 10, 60, 40, 10, 40) if spec.geometry == "polygon" else ()
        moved.append(Region(rng.randrange(len(spec.classes)), round(rng.random(), 3), extra, polygon))
        run[image_id] = moved
    out.write_text(format_grouped_lines(run, spec.classes, spec.geometry))
    return out


def _pycocotools_ap50(dataset: Path, results: Path, iou_type: str) -> float:
    """AP@0.5 exactly as a COCO user gets it: COCOeval with its default parameters (stats[1])."""
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(dataset))
        evaluator = COCOeval(truth, truth.loadRes(str(results)), iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[1])


@pytest.mark.parametrize("task", ["drawnui", "coral_boxes", "coral_polygons"])
def test_exported_pair_scored_by_pycocotools_gives_evaluates_map(data: Path, tmp_path: Path, task: str) -> None:
    gt, images = _paths(data, task)
    run = _noisy_run(task, gt, images, tmp_path / "run.txt")
    assert (
        main(["export-coco", "--task", task, str(run), "--images", str(images), "-o", str(tmp_path / "res.json")]) == 0
    )
    assert (
        main(["export-coco", "--task", task, "--gt", str(gt), "--images", str(images), "-o", str(tmp_path / "gt.json")])
        == 0
    )
    spec = get_task(task)
    project = spec.evaluate_file(run, spec.load_reference(gt, images))["map_50"]
    coco = _pycocotools_ap50(tmp_path / "gt.json", tmp_path / "res.json", "bbox" if spec.geometry == "box" else "segm")
    assert 0.1 < project < 0.99  # a real test: neither nothing nor everything found
    assert coco == pytest.approx(project, abs=1e-12)
    dataset = json.loads((tmp_path / "gt.json").read_text())
    assert [c["name"] for c in dataset["categories"]] == list(spec.classes)
    assert [c["id"] for c in dataset["categories"]] == list(range(1, len(spec.classes) + 1))
    assert [i["file_name"] for i in dataset["images"]] == sorted(spec.load_reference(None, images).sizes)


def test_polygons_of_fewer_than_3_vertices_are_left_out_of_the_export_as_of_the_map(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A one-vertex polygon in the ground truth (as line 1476 of the released training file, kept for the
    # pixel IoU) and a two-vertex one in the run (the run grammar accepts it): pycocotools cannot read
    # them, and the project's mask mAP leaves them out; the export leaves them out and says so. A polygon of
    # 3 collinear vertices (no area) is exported: pycocotools draws it as an empty mask, a false positive.
    spec = get_task("coral_polygons")
    gt, images = _paths(data, "coral_polygons")
    run = _noisy_run("coral_polygons", gt, images, tmp_path / "run.txt")
    image_id = sorted(spec.load_reference(gt, images).ground_truth)[0]
    degenerate_gt = tmp_path / "gt.txt"
    degenerate_gt.write_text(gt.read_text() + f"{image_id} 999 c_sponge 1 30 40\n")
    reference = spec.load_reference(degenerate_gt, images)
    parsed = spec.parse_run(run, reference)
    parsed[image_id].append(Region(3, 0.99, (5, 5, 30, 30), (5.0, 5.0, 30.0, 30.0)))
    parsed[image_id].append(Region(3, 0.98, (5, 5, 30, 30), (5.0, 5.0, 15.0, 15.0, 30.0, 30.0)))
    run.write_text(format_grouped_lines(parsed, spec.classes, "polygon"))
    capsys.readouterr()
    out = tmp_path / "res.json"
    assert main(["export-coco", "--task", "coral_polygons", str(run), "--images", str(images), "-o", str(out)]) == 0
    assert "1 run polygon(s) of fewer than 3 vertices" in capsys.readouterr().err
    assert len(json.loads(out.read_text())) == sum(len(v) for v in parsed.values()) - 1
    dataset = tmp_path / "gt.json"
    assert main(["export-coco", "--task", "coral_polygons", "--gt", str(degenerate_gt), "--images", str(images),
                 "-o", str(dataset)]) == 0  # fmt: skip
    printed = capsys.readouterr()
    assert "1 ground-truth polygon(s) of fewer than 3 vertices" in printed.err
    exported = json.loads(dataset.read_text())["annotations"]
    assert f"{len(exported)} annotations" in printed.out
    assert len(exported) == sum(len(v) for v in reference.ground_truth.values()) - 1
    with pytest.warns(FormatWarning, match="fewer than 3 vertices"):
        project = spec.evaluate_file(run, reference)["map_50"]
    assert 0.1 < project < 0.99
    assert _pycocotools_ap50(dataset, out, "segm") == pytest.approx(project, abs=1e-12)


@pytest.mark.parametrize("task", ["drawnui", "coral_polygons"])
def test_results_exported_and_imported_give_the_same_run_file(data: Path, tmp_path: Path, task: str) -> None:
    gt, images = _paths(data, task)
    run = _noisy_run(task, gt, images, tmp_path / "run.txt")
    main(["export-coco", "--task", task, str(run), "--images", str(images), "-o", str(tmp_path / "res.json")])
    main(["export-coco", "--task", task, "--gt", str(gt), "--images", str(images), "-o", str(tmp_path / "gt.json")])
    back = tmp_path / "back.txt"
    assert main(["import-coco", "--task", task, str(tmp_path / "res.json"), "--dataset", str(tmp_path / "gt.json"),
                 "-o", str(back), "--images", str(images)]) == 0  # fmt: skip
    spec = get_task(task)
    reference = spec.load_reference(gt, images)
    # boxes come back byte for byte; polygons through RLE masks and their contours (a pixel's worth lost on
    # the borders), so their mAP is compared
    if spec.geometry == "box":
        assert back.read_text() == run.read_text()
    again = spec.evaluate_file(back, reference)["map_50"]
    assert again == pytest.approx(spec.evaluate_file(run, reference)["map_50"], abs=0.02)


def test_a_labelling_tools_dataset_becomes_a_perfect_run(data: Path, tmp_path: Path) -> None:
    gt, images = _paths(data, "coral_polygons")
    main(
        [
            "export-coco",
            "--task",
            "coral_polygons",
            "--gt",
            str(gt),
            "--images",
            str(images),
            "-o",
            str(tmp_path / "gt.json"),
        ]
    )
    assert main(["import-coco", "--task", "coral_polygons", str(tmp_path / "gt.json"), "-o", str(tmp_path / "run.txt"),
                 "--images", str(images)]) == 0  # fmt: skip
    spec = get_task("coral_polygons")
    assert spec.evaluate_file(tmp_path / "run.txt", spec.load_reference(gt, images))["map_50"] == 1.0


def _dataset(tmp_path: Path) -> Path:
    dataset = {
        "images": [{"id": 7, "file_name": "pages/a.jpg", "width": 100, "height": 80}, {"id": 9, "file_name": "b.jpg"}],
        "categories": [{"id": 1, "name": "button"}, {"id": 5, "name": "label"}],
    }
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(dataset))
    return path


def test_mmdetection_style_results_with_rle_masks_become_regions(tmp_path: Path) -> None:
    mask = np.zeros((80, 100), np.uint8, order="F")
    mask[10:30, 20:60] = 1
    rle = mask_utils.encode(mask)
    rle["counts"] = rle["counts"].decode("ascii")
    results = [
        {"image_id": 7, "category_id": 5, "bbox": [20, 10, 40, 20], "score": 0.75, "segmentation": rle},
        {"image_id": 7, "category_id": 1, "bbox": [90, 70, 30, 30], "score": 0.5},  # clipped to the 100x80 image
    ]
    (tmp_path / "res.json").write_text(json.dumps(results))
    out = tmp_path / "run.txt"
    assert main(["import-coco", "--task", "drawnui", str(tmp_path / "res.json"), "--dataset", str(_dataset(tmp_path)),
                 "-o", str(out)]) == 0  # fmt: skip
    assert out.read_text() == "a.jpg;label 0.75:40x20+20+10;button 0.5:10x10+90+70\nb.jpg\n"  # class-list order
    get_task("drawnui").parse_run(out, None)
    # the polygon task takes the mask's outline; a box-only detection has none and is refused
    args = ["import-coco", "--task", "coral_polygons", str(tmp_path / "res.json"), "--dataset",
            str(_dataset_coral(tmp_path)), "-o", str(tmp_path / "poly.txt")]  # fmt: skip
    assert main(args) == 2 and not (tmp_path / "poly.txt").exists()
    (tmp_path / "res.json").write_text(json.dumps(results[:1]))
    assert main(args) == 0
    spec = get_task("coral_polygons")
    [region] = spec.parse_run(tmp_path / "poly.txt", None)["a"]
    assert spec.classes[region.label] == "c_soft_coral" and region.box == (20, 10, 59, 29)  # contour: pixel centres


def _dataset_coral(tmp_path: Path) -> Path:
    dataset = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "c_sponge"}, {"id": 5, "name": "c_soft_coral"}],
    }
    path = tmp_path / "coral_dataset.json"
    path.write_text(json.dumps(dataset))
    return path


def test_bad_coco_input_names_the_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = [
        {"image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5},
        {"image_id": 8, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5},
        {"image_id": 7, "category_id": 2, "bbox": [0, 0, 5, 5], "score": 0.5},
        {"image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 1.5},
    ]
    (tmp_path / "res.json").write_text(json.dumps(results))
    args = ["import-coco", "--task", "drawnui", str(tmp_path / "res.json"), "-o", str(tmp_path / "run.txt")]
    assert main(args) == 2 and "give --dataset" in capsys.readouterr().err
    assert main([*args, "--dataset", str(_dataset(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "res.json:2: image_id 8" in err and "res.json:3: category_id 2" in err and "res.json:4: score 1.5" in err
    assert not (tmp_path / "run.txt").exists()
    (tmp_path / "bad.json").write_text('{"images": [], "categories": [{"id": 1, "name": "buton"}], "annotations": []}')
    with pytest.raises(FormatError, match="'buton' is not a class"):
        from baselines.io.coco import regions_from_coco

        regions_from_coco([], json.loads((tmp_path / "bad.json").read_text()), get_task("drawnui").classes, "box",
                          "name", tmp_path / "bad.json")  # fmt: skip


def test_export_refuses_other_tasks_and_existing_files(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gt, images = _paths(data, "drawnui")
    out = tmp_path / "gt.json"
    out.write_text("mine")
    assert main(["export-coco", "--task", "drawnui", "--gt", str(gt), "--images", str(images), "-o", str(out)]) == 2
    assert out.read_text() == "mine" and "--overwrite" in capsys.readouterr().err
    assert (
        main(["export-coco", "--task", "vqa", "--gt", str(gt), "--images", str(images), "-o", str(tmp_path / "x")]) == 2
    )
    assert "region tasks" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("file_name", "why"),
    [
        ("a.jpg\nb.jpg;button 1:10x10+0+0", r"holds control character\(s\) '\\n'"),  # would inject a run line
        ("a.jpg\r", r"holds control character\(s\) '\\r'"),
        ("a\u2028b.jpg", r"holds control character\(s\) '\\u2028'"),
        ("a;b.jpg", r"its name holds ';', a run-file or path separator"),
        ("dir\\a.jpg", r"its name holds '\\\\', a run-file or path separator"),
    ],
)
def test_a_file_name_with_separators_or_control_characters_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file_name: str, why: str
) -> None:
    dataset = {
        "images": [{"id": 1, "file_name": file_name, "width": 100, "height": 80}],
        "categories": [{"id": 1, "name": "button"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40]}],
    }
    (tmp_path / "coco.json").write_text(json.dumps(dataset))
    args = ["import-coco", "--task", "drawnui", str(tmp_path / "coco.json"), "-o", str(tmp_path / "run.txt")]
    assert main(args) == 2
    assert re.search(r"coco.json: image 1 .*: " + why + ": it cannot be an image id", capsys.readouterr().err)
    assert not (tmp_path / "run.txt").exists()
    dataset["images"][0]["file_name"] = "folder/a.jpg"  # a folder in the name is fine: the id is the name
    (tmp_path / "coco.json").write_text(json.dumps(dataset))
    assert main(args) == 0 and (tmp_path / "run.txt").read_text() == "a.jpg;button 1:30x40+1+2\n"


@pytest.mark.parametrize("task", ["drawnui", "coral_boxes", "coral_polygons"])
def test_streamed_export_is_json_dumps_of_the_records(data: Path, tmp_path: Path, task: str) -> None:
    """`export-coco` writes its JSON piece by piece (from the arrays for boxes): the same text as
    `json.dumps` of the records, for a parsed run, the ground truth and Regions made in memory (float
    corners, written as floats)."""
    from baselines.io import coco

    gt, images = _paths(data, task)
    spec = get_task(task)
    reference = spec.load_reference(gt, images)
    ids = list(reference.sizes)
    numbers = {image_id: number for number, image_id in enumerate(ids, start=1)}
    parsed = spec.parse_run(_noisy_run(task, gt, images, tmp_path / "run.txt"), reference)
    made = {image_id: [Region(r.label, r.score, tuple(v + 0.5 for v in r.box), r.polygon) for r in regions]
            for image_id, regions in parsed.items()}  # fmt: skip
    for run in (parsed, made):
        expected = json.dumps(coco.coco_results(run, numbers, reference.sizes, spec.kind))
        handle = io.StringIO()
        assert coco.write_coco_results(handle, run, numbers, reference.sizes, spec.kind) == len(json.loads(expected))
        assert handle.getvalue() == expected
    truth = reference.ground_truth
    expected = json.dumps(coco.coco_dataset(truth, ids, reference.sizes, spec.classes, spec.kind))
    handle = io.StringIO()
    counts = coco.write_coco_dataset(handle, truth, ids, reference.sizes, spec.classes, spec.kind)
    assert handle.getvalue() == expected
    assert counts == (len(json.loads(expected)["images"]), len(json.loads(expected)["annotations"])) != (0, 0)


def test_streamed_export_writes_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    from baselines.io import coco

    monkeypatch.setattr(coco, "WRITE_CHUNK", 2)
    handle = io.StringIO()
    assert coco._write_list(handle, (json.dumps(n) for n in range(5))) == 5
    assert handle.getvalue() == json.dumps(list(range(5)))
    handle = io.StringIO()
    assert coco._write_list(handle, iter([])) == 0 and handle.getvalue() == "[]"
