"""VQA-Med VQA: the project's validator and scores equal the official 2020 evaluator's on every case.

`official` was printed by abachaa/VQA-Med-2020 `Evaluator-VQA-Med-2020.py` under NLTK 3.2.5 (the project's
default "legacy" BLEU semantics), `official_nltk_3.4` under the NLTK the repo pins (`bleu_semantics="nltk"`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from harness import cases, check

from baselines.tasks.vqamed import VQASpec

NAMES = {"accuracy": "accuracy", "bleu": "bleu"}


def score(spec: VQASpec, case: Path) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FormatWarnings: the case is about the numbers
        reference = spec.load_reference(case / "reference.txt", case / "questions.txt")
        return spec.evaluate_file(case / "run.txt", reference)


@pytest.mark.parametrize(("case", "entry"), cases("vqa"))
def test_vqa_case(case: Path, entry: dict[str, Any]) -> None:
    check(entry, lambda: score(VQASpec(), case), NAMES)


@pytest.mark.parametrize(("case", "entry"), [c for c in cases("vqa") if "official_nltk_3.4" in c.values[1]])
def test_vqa_case_nltk_3_4(case: Path, entry: dict[str, Any]) -> None:
    check({"official": entry["official_nltk_3.4"]}, lambda: score(VQASpec(bleu_semantics="nltk"), case), NAMES)
