"""Concept detection: the project's validator and F1 equal the official evaluator's on every case.

`official` was printed by crowdAI/CLEF_evaluators_2018 `concept_detection/concept_detection_evaluator.py`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from harness import cases, check

from baselines.tasks import get_task


def score(case: Path) -> dict[str, float]:
    spec = get_task("concepts")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FormatWarnings: the case is about the numbers
        return spec.evaluate_file(case / "run.txt", spec.load_reference(case / "gt.txt", None))


@pytest.mark.parametrize(("case", "entry"), cases("concepts"))
def test_concepts_case(case: Path, entry: dict[str, Any]) -> None:
    check(entry, lambda: score(case), {"f1": "f1"})
