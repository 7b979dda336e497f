"""A region run parsed into arrays (`parse_grouped_arrays`, what `parse_run` returns) holds what the
`Region` parser holds, refuses what it refuses with the same messages, and scores to the same bits."""

from __future__ import annotations

from pathlib import Path

import pytest

from baselines.errors import FormatError
from baselines.io.formats.coral import CORAL_CLASSES
from baselines.io.formats.drawnui import DRAWNUI_CLASSES
from baselines.io.grouped import CORAL_PIXEL, parse_grouped_arrays, parse_grouped_file
from baselines.tasks import get_task
from baselines.types import ImageSet, Region

BOXES = (
    "a.jpg;paragraph 0.9:10x10+0+0,0.5:20x5+30+40;button 1:5x5+95+75\n"
    "b.jpg;\n"
    "c.jpg;button 0.25:2x4+1+2,0.123456789:7x3+4+4\n"
)
# repeated lines and groups (tolerated in coral subtask 2): their regions join the first line's image
POLYGONS = (
    "x;c_soft_coral 0.5:0+0+10+0+10+10\n"
    "y;c_sponge 0.7:1+1+5+1+5+5+1+5\n"
    "x;c_sponge 0.2:2+2+8+2+8+9;c_soft_coral 0.9:0+0+4+0+4+4\n"
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_box_arrays_hand_out_the_parsers_regions(tmp_path: Path) -> None:
    path = _write(tmp_path, BOXES)
    arrays = parse_grouped_arrays(path, DRAWNUI_CLASSES, "box")
    regions = parse_grouped_file(path, DRAWNUI_CLASSES, "box")
    assert list(arrays) == ["a.jpg", "b.jpg", "c.jpg"] == list(regions)
    assert dict(arrays.items()) == regions
    assert arrays["b.jpg"] == [] and "d.jpg" not in arrays and arrays.get("d.jpg") is None
    # box corners stay the ints the parser reads (export-coco writes them as read), scores the same floats
    assert [type(v) for v in arrays["a.jpg"][0].box] == [int] * 4
    assert [r.score for r in arrays["c.jpg"]] == [0.25, 0.123456789]


def test_polygon_arrays_join_repeated_lines_in_file_order(tmp_path: Path) -> None:
    path = _write(tmp_path, POLYGONS)
    with pytest.warns(UserWarning):
        arrays = parse_grouped_arrays(path, CORAL_CLASSES, "polygon", tolerance=CORAL_PIXEL)
    with pytest.warns(UserWarning):
        regions = parse_grouped_file(path, CORAL_CLASSES, "polygon", tolerance=CORAL_PIXEL)
    assert list(arrays) == ["x", "y"]
    assert dict(arrays.items()) == regions
    assert [r.score for r in arrays["x"]] == [0.5, 0.2, 0.9]
    assert arrays["x"][1].polygon == (2.0, 2.0, 8.0, 2.0, 8.0, 9.0)


def test_arrays_refuse_with_the_parsers_messages(tmp_path: Path) -> None:
    path = _write(tmp_path, BOXES + "d.jpg;button 2:1x1+0+0,0.5:1x1+0\n")
    with pytest.raises(FormatError) as by_arrays:
        parse_grouped_arrays(path, DRAWNUI_CLASSES, "box")
    with pytest.raises(FormatError) as by_regions:
        parse_grouped_file(path, DRAWNUI_CLASSES, "box")
    assert str(by_arrays.value) == str(by_regions.value)
    assert "run.txt:4: class button: confidence '2'" in str(by_arrays.value)
    assert "run.txt:4: class button: region '1x1+0'" in str(by_arrays.value)


def test_arrays_score_as_regions(tmp_path: Path) -> None:
    spec = get_task("drawnui")
    truth_path = tmp_path / "gt.txt"
    truth_path.write_text("a.jpg;paragraph 1:10x10+0+0;button 1:5x5+95+75\nb.jpg;\nc.jpg;button 1:7x3+4+4\n")
    reference = spec.load_reference(truth_path, None)
    path = _write(tmp_path, BOXES)
    arrays = spec.parse_run(path, reference)
    scores = spec.score(arrays, reference)
    assert scores == spec.score(parse_grouped_file(path, DRAWNUI_CLASSES, "box", reference), reference)
    assert scores["recall_50"] == 1.0 and scores["precision_50"] == 3 / 5
    assert isinstance(reference, ImageSet)


def test_an_edited_image_list_is_kept_and_scored(tmp_path: Path) -> None:
    # consumers that add a region to a parsed run (as to a dict of lists) see it wherever the run is read
    spec = get_task("drawnui")
    truth_path = tmp_path / "gt.txt"
    truth_path.write_text("a.jpg;paragraph 1:10x10+0+0\nb.jpg;button 1:5x5+0+0\nc.jpg;\n")
    reference = spec.load_reference(truth_path, None)
    arrays = spec.parse_run(_write(tmp_path, BOXES), reference)
    assert arrays.peek("b.jpg") == [] and arrays.peek("z.jpg") == []
    button = DRAWNUI_CLASSES.index("button")
    arrays["b.jpg"].append(Region(button, 0.5, (0, 0, 5, 5)))
    assert arrays["b.jpg"] == arrays.peek("b.jpg") == [Region(button, 0.5, (0, 0, 5, 5))]
    assert spec.score(arrays, reference)["recall_50"] == 1.0


def test_columns_read_the_arrays_and_an_edited_image_from_its_list(tmp_path: Path) -> None:
    """`columns` (how the box scorer reads a run) gives each image's regions in file order, positions in the
    ids asked for, none for an image not in the file; an image handed out and edited is read as edited."""
    arrays = parse_grouped_arrays(_write(tmp_path, BOXES), DRAWNUI_CLASSES, "box")
    image, label, score, boxes = arrays.columns(["c.jpg", "z.jpg", "a.jpg", "b.jpg"])
    assert image.tolist() == [0, 0, 2, 2, 2]
    assert score.tolist() == [0.25, 0.123456789, 0.9, 0.5, 1.0]
    assert boxes.tolist() == [[1, 2, 3, 6], [4, 4, 11, 7], [0, 0, 10, 10], [30, 40, 50, 45], [95, 75, 100, 80]]
    assert label.tolist() == [
        DRAWNUI_CLASSES.index(n) for n in ("button", "button", "paragraph", "paragraph", "button")
    ]
    arrays["b.jpg"].append(Region(1, 0.5, (1.5, 2.0, 3.0, 4.0)))
    image, label, score, boxes = arrays.columns(["a.jpg", "b.jpg", "c.jpg"])
    assert image.tolist() == [0, 0, 0, 1, 2, 2] and score.tolist()[3] == 0.5
    assert boxes[3].tolist() == [1.5, 2.0, 3.0, 4.0] and boxes[0].tolist() == [0.0, 0.0, 10.0, 10.0]


def test_drawnui_ground_truth_is_kept_as_arrays_with_every_image(tmp_path: Path) -> None:
    """drawnUI's ground truth is read as arrays too; a test image without a line is added with no region,
    and it holds what the `Region` parser reads."""
    from baselines.types import RegionArrays

    gt = _write(tmp_path, BOXES.replace("b.jpg;\n", ""))
    spec = get_task("drawnui")
    reference = spec.load_reference(gt, None)
    assert isinstance(reference.ground_truth, RegionArrays)
    expected = parse_grouped_file(gt, DRAWNUI_CLASSES, "box")
    assert dict(reference.ground_truth.items()) == expected
    extended = reference.ground_truth.with_images(["b.jpg", "z.jpg"])
    assert list(extended) == ["a.jpg", "c.jpg", "b.jpg", "z.jpg"]
    assert extended["z.jpg"] == [] and extended["c.jpg"] == expected["c.jpg"]
    assert extended.columns(["z.jpg", "c.jpg"])[0].tolist() == [1, 1]
