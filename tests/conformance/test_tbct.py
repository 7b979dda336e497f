"""Tuberculosis CT report: the project's validator and AUCs against the organisers' evaluator, case by case.

No 2019/2020 CT-report evaluator is public: the official numbers come from the 2018 single-label evaluator
(crowdAI/CLEF_evaluators_2018 `tuberculosis_mdr_detection_evaluator.py`) run once per label, mean and min
over the six AUCs with NaN kept (expected.json `_source`). The official mean and min are the project's
`mean_auc_official` / `min_auc_official`; docs/evaluation.md lists the cases where they differ.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from baselines.io.formats.tuberculosis import LABELS
from baselines.tasks import get_task
from conformance.harness import cases, check

NAMES = {
    "mean_auc": "mean_auc_official",
    "min_auc": "min_auc_official",
    **{f"auc/{label}": f"auc/{label}" for label in LABELS},
}


def _score(case: Path) -> dict[str, float]:
    spec = get_task("tbct")
    return spec.evaluate_file(case / "run.csv", spec.load_reference(case / "gt.csv", None))


@pytest.mark.filterwarnings("ignore:tbct.*has one class only:UserWarning")  # single_class_label: checked below
@pytest.mark.parametrize(("case", "entry"), cases("tbct"))
def test_tbct_case(case: Path, entry: dict[str, Any]) -> None:
    check(entry, lambda: _score(case), NAMES)


def test_a_single_class_label_keeps_the_official_nan_and_ranks_by_the_other_labels() -> None:
    # tests/conformance/tbct/single_class_label: PleurisyRight is 0 for every CT. The official evaluator
    # gives that label NaN and so a NaN mean and min; the project reports those and, next to them, the
    # mean and min over the five labels that have an AUC (0.8556 / 0.75), with a warning.
    case = Path(__file__).parent / "tbct" / "single_class_label"
    spec = get_task("tbct")
    with pytest.warns(UserWarning, match="PleurisyRight has one class only"):
        scores = spec.evaluate_file(case / "run.csv", spec.load_reference(case / "gt.csv", None))
    assert math.isnan(scores["mean_auc_official"]) and math.isnan(scores["auc/PleurisyRight"])
    assert scores["mean_auc"] == pytest.approx((0.75 + 0.7777777778 + 1.0 + 1.0 + 0.75) / 5)
    assert scores["min_auc"] == 0.75
