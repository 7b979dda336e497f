"""Coral boxes (subtask 1): the project's MAP@0.5 equals pycocotools' on cases of the coral box files' geometry.

`official` is pycocotools 2.0.11 `COCOeval(gt, dt, "bbox")` with its default parameters on the files converted by
hand as written (expected.json `_source`): a -1 coordinate stays -1, a box of zero width or height stays (ground
truth nothing matches; a detection that matches nothing). `map_50` is `stats[1]`, `ap_50/<substrate>` from
`eval["precision"]`; `recall_50` is not compared (the project's is the overall recall, pycocotools' the mean over
classes). The drawnUI cases are scored through the `coral_boxes` spec too (test_drawnui.py).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from harness import cases, check
from PIL import Image

from baselines.errors import FormatWarning
from baselines.evaluation.coco import region_average_precision
from baselines.io.formats.coral import CORAL_CLASSES
from baselines.tasks import get_task

NAMES = {"map_50": "map_50", **{f"ap_50/{name}": f"ap_50/{name}" for name in CORAL_CLASSES}}
WARNED = {
    "run_zero_width_first": "has zero width or height",
    "run_zero_height_on_zero_height_gt": "has zero width or height",
}


def score(task: str, kind: str, case: Path, images: Path, caught: list[str] | None = None) -> dict[str, float]:
    """`baselines evaluate --task TASK run.txt --gt gt.txt --images DIR`, plus the per-class AP of the same
    pycocotools evaluation; the FormatWarnings given go to caught."""
    images.mkdir(exist_ok=True)
    for image_id, (width, height) in json.loads((case / "sizes.json").read_text()).items():
        Image.new("1", (width, height)).save(images / f"{image_id}.png")
    spec = get_task(task)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        reference = spec.load_reference(case / "gt.txt", images)
        parsed = spec.parse_run(case / "run.txt", reference)
    if caught is not None:
        caught.extend(str(w.message) for w in seen if issubclass(w.category, FormatWarning))
    scores = spec.score(parsed, reference)
    assert reference.ground_truth is not None
    per_class = region_average_precision(parsed, reference.ground_truth, reference.sizes, kind, 0.5)["per_class"]  # type: ignore[arg-type]
    scores.update({f"ap_50/{CORAL_CLASSES[label]}": value for label, value in per_class.items()})
    return scores


@pytest.mark.parametrize(("case", "entry"), cases("coral_boxes"))
def test_coral_boxes_case(case: Path, entry: dict[str, Any], tmp_path: Path) -> None:
    scores = score("coral_boxes", "box", case, tmp_path / "images")
    check(entry, lambda: scores, NAMES)
    assert scores["map_50"] == pytest.approx(entry["official"]["map_50"], abs=1e-6)


@pytest.mark.parametrize("name", sorted(WARNED))
def test_what_cocoeval_takes_is_accepted_with_a_warning(name: str, tmp_path: Path) -> None:
    caught: list[str] = []
    score("coral_boxes", "box", Path(__file__).parent / "coral_boxes" / name, tmp_path / "images", caught)
    assert any(WARNED[name] in message for message in caught), caught
