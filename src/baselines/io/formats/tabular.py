"""SPLL tables: one row of values per participant, `participant_id,<column>,...` with a header."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from baselines.errors import FirstLines, FormatError, Problem, ProblemCollector
from baselines.io.lines import read_csv_rows

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_table(path: str | Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Reads `id,<columns>` with a header; returns the column names and id -> float values."""
    problems = ProblemCollector(path)
    header, lines = read_csv_rows(path, (), problems)
    if len(header) < 2:
        raise FormatError([Problem(str(path), 1, f"header {header}: expected an id column and value columns")])
    rows: dict[str, np.ndarray] = {}
    first: FirstLines[str] = FirstLines(problems, "id")
    for number, row in lines:
        fields = [row[name] for name in header]
        if not fields[0]:
            problems.add(number, "empty id")
            continue
        if not first.add(fields[0], number):
            continue
        values = []
        for name, text in zip(header[1:], fields[1:], strict=True):
            try:
                value = float(text)
            except ValueError:
                problems.add(number, f"{name}: {text!r} is not a number")
                break
            if not math.isfinite(value) or abs(value) > _FLOAT32_MAX:
                problems.add(number, f"{name}: {text!r} must be a finite float32 number")
                break
            values.append(value)
        else:
            rows[fields[0]] = np.array(values, np.float32)
    problems.raise_if_any()
    return header[1:], rows
