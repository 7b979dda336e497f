"""Coral pixel-wise parsing (subtask 2): the project's mask MAP@0.5 equals pycocotools' case by case.

`official` is pycocotools 2.0.11 `COCOeval(gt, dt, "segm")` with its default parameters on the polygons as written
(expected.json `_source`): a polygon of 3 or more vertices without area is an empty mask (a ground truth nothing
matches, a false positive), and a test image without a ground-truth line is an image whose detections are false
positives. `map_50` is `stats[1]`, `recall_50` the mean over classes of COCO's recall (the project's `recall_50` of
`coral_polygons` is the same), `ap_50/<substrate>` from `eval["precision"]`. The organisers' pixel IoU of the same
subtask is checked in test_coral_polygons.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness import cases, check
from test_coral_boxes import score

from baselines.io.formats.coral import CORAL_CLASSES

NAMES = {"map_50": "map_50", "recall_50": "recall_50", **{f"ap_50/{n}": f"ap_50/{n}" for n in CORAL_CLASSES}}
WARNED = {
    "run_collinear_first": "has no area",
    "run_collinear_on_collinear_gt": "has no area",
    "run_repeated_vertex_last": "has no area",
}


@pytest.mark.parametrize(("case", "entry"), cases("coral_masks"))
def test_coral_masks_case(case: Path, entry: dict[str, Any], tmp_path: Path) -> None:
    scores = score("coral_polygons", "polygon", case, tmp_path / "images")
    check(entry, lambda: scores, NAMES)
    assert scores["map_50"] == pytest.approx(entry["official"]["map_50"], abs=1e-6)


@pytest.mark.parametrize("name", sorted(WARNED))
def test_what_cocoeval_takes_is_accepted_with_a_warning(name: str, tmp_path: Path) -> None:
    caught: list[str] = []
    score("coral_polygons", "polygon", Path(__file__).parent / "coral_masks" / name, tmp_path / "images", caught)
    assert any(WARNED[name] in message for message in caught), caught
