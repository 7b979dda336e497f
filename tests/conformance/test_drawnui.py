"""drawnUI and coral boxes: the project's mAP@0.5 equals pycocotools' on every case, to 1e-6.

No organisers' drawnUI (or coral) mAP code is public; `official` is pycocotools 2.0.7 `COCOeval(gt, dt, "bbox")`
with its default parameters (at most 100 detections per image and class), `map_50 = stats[1]`, per-class AP
`ap_50/<class>` from `eval["precision"]`. `recall_50` is not compared: pycocotools' is the mean of per-class
recalls, the project's `recall_50` the overall recall (with `precision_50`, the task's secondary metric).
The same cases are scored through the `coral_boxes` spec too: same boxes, coral ids and substrates, the
ground truth written in the coral box annotation format (mAP does not depend on class names); a ground-truth
image without a region has no line there, and is scored through `--images`, as COCOeval's image list.
Cases of issue 27 (zero-width boxes, test images without a ground-truth line) check the warning the run or
ground truth gives too (`WARNED`).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from harness import cases, check, target
from PIL import Image

from baselines.errors import FormatWarning
from baselines.evaluation.detection import mean_average_precision
from baselines.io.formats.drawnui import DRAWNUI_CLASSES
from baselines.io.grouped import parse_grouped_file
from baselines.tasks import get_task

NAMES = {"map_50": "map_50", **{f"ap_50/{name}": f"ap_50/{name}" for name in DRAWNUI_CLASSES}}
TO_CORAL = {
    "button": "c_soft_coral",
    "paragraph": "c_sponge",
    "checkbox": "c_hard_coral_boulder",
    "image": "c_sponge_barrel",
    "link": "c_fire_coral_millepora",
}
# What the project accepts with a FormatWarning in these cases (the scores are checked as for every case).
WARNED = {
    "gt_zero_width_box": "has zero width or height",
    "gt_zero_height_box_detected_around": "has zero width or height",
    "run_zero_width_first": "has zero width or height",
    "run_zero_height_middle": "has zero width or height",
    "run_zero_size_first": "has zero width or height",
    "run_zero_width_on_zero_width_gt": "has zero width or height",
}


def _images(folder: Path, sizes: dict[str, list[int]], stem: bool) -> Path:
    folder.mkdir(exist_ok=True)
    for image_id, (width, height) in sizes.items():
        name = f"{Path(image_id).stem}.png" if stem else image_id
        Image.new("1", (width, height)).save(folder / name, format="PNG")
    return folder


def score(task: str, run: Path, gt: Path, images: Path, caught: list[str] | None = None) -> dict[str, float]:
    """The task's scores plus per-class AP (the same pycocotools evaluation, by class); the FormatWarnings
    given go to caught."""
    spec = get_task(task)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # FormatWarnings (e.g. more than 100 boxes of a class): the case is the number
        reference = spec.load_reference(gt, images)
        parsed = spec.parse_run(run, reference)
    if caught is not None:
        caught.extend(str(w.message) for w in seen if issubclass(w.category, FormatWarning))
    scores = spec.score(parsed, reference)
    assert reference.ground_truth is not None
    per_class = mean_average_precision(parsed, reference.ground_truth, per_class=True)
    for key, value in per_class.items():
        if key.startswith("map_class_"):
            scores[f"ap_50/{spec.classes[int(key.removeprefix('map_class_'))]}"] = value
    return scores


def _strictly(entry: dict[str, Any], scores: dict[str, float], to_class: dict[str, str]) -> None:
    """The stricter check of the brief: pycocotools' numbers to 1e-6 (the harness allows 1e-4)."""
    for name, value in target(entry).items():
        if name == "map_50" or name.startswith("ap_50/"):
            key = name if name == "map_50" else f"ap_50/{to_class.get(name[6:], name[6:])}"
            assert scores[key] == pytest.approx(value, abs=1e-6), (name, scores[key], value)


@pytest.mark.parametrize(("case", "entry"), cases("drawnui"))
def test_drawnui_case(case: Path, entry: dict[str, Any], tmp_path: Path) -> None:
    images = _images(tmp_path / "images", json.loads((case / "sizes.json").read_text()), stem=False)
    scores = score("drawnui", case / "run.txt", case / "gt.txt", images)
    check(entry, lambda: scores, NAMES)
    _strictly(entry, scores, {})


def _to_coral_run(text: str) -> str:
    text = re.sub(r"\.jpg;", ";", text)
    return re.sub(r"(?<=;)([a-z]+)(?= )", lambda m: TO_CORAL[m.group(1)], text)


def _to_coral_ground_truth(path: Path) -> str:
    """The drawnUI ground truth as coral box annotation lines `img idx class 1 xmin ymax xmax ymin`."""
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FormatWarning)  # a zero-width box: the drawnUI spec checks the warning
        truth = parse_grouped_file(path, DRAWNUI_CLASSES, "box")
    for image_id, regions in truth.items():
        for k, region in enumerate(regions):
            x0, y0, x1, y1 = (int(v) for v in region.box)
            name = TO_CORAL[DRAWNUI_CLASSES[region.label]]
            lines.append(f"{Path(image_id).stem} {k} {name} 1 {x0} {y1} {x1} {y0}\r\n")  # the released order, CRLF
    return "".join(lines)


@pytest.mark.parametrize(("case", "entry"), cases("drawnui"))
def test_coral_boxes_case(case: Path, entry: dict[str, Any], tmp_path: Path) -> None:
    images = _images(tmp_path / "images", json.loads((case / "sizes.json").read_text()), stem=True)
    run, gt = tmp_path / "run.txt", tmp_path / "gt.txt"
    run.write_text(_to_coral_run((case / "run.txt").read_text()))
    gt.write_text(_to_coral_ground_truth(case / "gt.txt"))
    scores = score("coral_boxes", run, gt, images)
    names = {"map_50": "map_50", **{f"ap_50/{k}": f"ap_50/{v}" for k, v in TO_CORAL.items()}}
    check(entry, lambda: scores, names)
    _strictly(entry, scores, TO_CORAL)


@pytest.mark.parametrize("name", sorted(WARNED))
def test_what_cocoeval_takes_is_accepted_with_a_warning(name: str, tmp_path: Path) -> None:
    case = Path(__file__).parent / "drawnui" / name
    images = _images(tmp_path / "images", json.loads((case / "sizes.json").read_text()), stem=False)
    caught: list[str] = []
    score("drawnui", case / "run.txt", case / "gt.txt", images, caught)
    assert any(WARNED[name] in message for message in caught), caught
