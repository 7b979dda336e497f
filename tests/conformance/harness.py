"""Shared checks of the conformance cases: the project's score must be the official evaluator's.

`<task>/expected.json` holds, per case, `official` (what the organisers' script gave: metrics,
`{"rejected": ...}` or `{"crashed": ...}`) and, where the project deliberately differs, `project` (what
it gives instead) with `deviation` (why, and the source of the rule). docs/evaluation.md lists them.
Each `test_<task>.py` maps the case files onto the project's reference and its metric names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from baselines.errors import FormatError

ROOT = Path(__file__).resolve().parent


def cases(task: str) -> list[Any]:
    """pytest params (case folder, expected entry), one per case of the task."""
    expected = json.loads((ROOT / task / "expected.json").read_text())
    entries = sorted((name, entry) for name, entry in expected.items() if name != "_source")
    return [pytest.param(ROOT / task / name, entry, id=name) for name, entry in entries]


def target(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the project must give for a case: the official result unless a deviation is documented."""
    if "project" in entry:
        assert entry.get("deviation"), "a case where the project differs must say why (deviation)"
        return entry["project"]
    official = entry["official"]
    assert "crashed" not in official, "the official script crashed here: the case needs a documented project value"
    return official


def check(entry: Mapping[str, Any], score: Callable[[], Mapping[str, float]], names: Mapping[str, str]) -> None:
    """Scores a case (a FormatError counts as a rejection) and compares it with its target.

    Args:
        entry: The case's entry in expected.json.
        score: Validates and scores the case with the project.
        names: Official metric name -> the project's key, for the metrics the case compares.
    """
    wanted = target(entry)
    if "rejected" in wanted:
        with pytest.raises(FormatError):
            score()
        return
    got = score()
    compared = 0
    for official_name, value in wanted.items():
        if official_name not in names:
            continue
        compared += 1
        mine = got[names[official_name]]
        if value is None or value == "NaN" or (isinstance(value, float) and math.isnan(value)):
            assert mine is None or math.isnan(mine), (official_name, mine)
        else:
            assert mine == pytest.approx(value, abs=1e-4), (official_name, mine, value)
    assert compared, f"no metric of {sorted(wanted)} is mapped to the project's names"
