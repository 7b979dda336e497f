"""VQA-Med VQG: the project's validator and scores equal the official VQG evaluator's on every case.

`official` was printed by abachaa/VQA-Med-2021 `VQA-Med-2021--VQG--Evaluator.py` (the only published VQG
evaluator) under NLTK 3.2.5 (the project's default "legacy" BLEU semantics; the repo's pinned 3.2.2 gives the
same numbers), `official_nltk_3.4` under NLTK 3.4 (`bleu_semantics="nltk"`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from harness import cases, check

from baselines.tasks.vqamed import VQGSpec

NAMES = {"bleu": "bleu"}


def score(spec: VQGSpec, case: Path) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FormatWarnings: the case is about the numbers
        return spec.evaluate_file(case / "run.txt", spec.load_reference(case / "reference.txt", None))


@pytest.mark.parametrize(("case", "entry"), cases("vqg"))
def test_vqg_case(case: Path, entry: dict[str, Any]) -> None:
    check(entry, lambda: score(VQGSpec(), case), NAMES)


@pytest.mark.parametrize(("case", "entry"), [c for c in cases("vqg") if "official_nltk_3.4" in c.values[1]])
def test_vqg_case_nltk_3_4(case: Path, entry: dict[str, Any]) -> None:
    target = {"official": entry["official_nltk_3.4"]}
    if "project_nltk_3.4" in entry:
        target.update(project=entry["project_nltk_3.4"], deviation=entry["deviation"])
    check(target, lambda: score(VQGSpec(bleu_semantics="nltk"), case), NAMES)
