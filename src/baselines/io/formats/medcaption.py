"""ImageCLEF 2020 medical caption files: concepts and captions.

- concepts: `ROCO_CLEF_41341<TAB>C0033785;C0035561` (the concept list may be empty)
- captions: `ROCO_CLEF_41341<TAB>caption text`
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from baselines.errors import FirstLines, ProblemCollector
from baselines.io.lines import read_lines


def read_tab_file(path: str | Path, what: str, check: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """Reads `id<TAB>value` lines (value may be empty, the tab may not be missing).

    Args:
        check: Says what is wrong with a value, or None if it is fine.

    Raises:
        FormatError: For duplicate or empty ids, a missing or extra tab, or a value check fails.
    """
    problems = ProblemCollector(path)
    result: dict[str, str] = {}
    first: FirstLines[str] = FirstLines(problems, "image")
    for number, text in read_lines(path, problems):
        fields = text.split("\t")
        if len(fields) != 2:
            problems.add(number, f"{len(fields)} tab-separated fields; expected 'image_id<TAB>{what}'")
            continue
        image_id, value = fields[0].strip(), fields[1].strip()
        if not image_id:
            problems.add(number, "empty image id")
            continue
        if not first.add(image_id, number):
            continue
        if check is not None and (problem := check(value)):
            problems.add(number, problem)
            continue
        result[image_id] = value
    problems.raise_if_any()
    return result


CUI = re.compile(r"^C[0-9]{7}$")


def split_concepts(text: str) -> list[str]:
    """`C1;C2` -> ["C1", "C2"], uppercased, stripped, empty entries dropped: how annotation files are read."""
    return [c.strip().upper() for c in text.split(";") if c.strip()]


def run_concepts(text: str) -> list[str]:
    """The concepts of a run line as the official evaluator scores them: uppercased, split on `;` with
    nothing stripped or dropped (`C1;;C2` holds an empty concept, `C1 ; C2` the concepts `C1 ` and ` C2`);
    a blank list is no concept."""
    return text.upper().split(";") if text.strip() else []


def _not_cuis(text: str) -> str | None:
    wrong = [c for c in split_concepts(text) if not CUI.match(c)]
    return f"{', '.join(map(repr, wrong[:3]))} not UMLS CUIs (C and 7 digits)" if wrong else None


def read_concepts(path: str | Path) -> dict[str, list[str]]:
    """The concept ground truth: image id -> CUIs (uppercased; each must be `C` and 7 digits)."""
    return {image_id: split_concepts(text) for image_id, text in read_tab_file(path, "C1;C2;...", _not_cuis).items()}


def build_vocabulary(labels: Mapping[str, Sequence[str]], min_frequency: int = 1) -> list[str]:
    """Concepts seen at least min_frequency times, most frequent first (ties by name): deterministic."""
    counts = Counter(c for concepts in labels.values() for c in concepts)
    return sorted((c for c, n in counts.items() if n >= min_frequency), key=lambda c: (-counts[c], c))
