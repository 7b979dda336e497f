"""ImageCLEF 2020 tuberculosis CT report files: the label CSV and the folders of NIfTI volumes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from baselines.errors import FirstLines, MissingDataError, ProblemCollector
from baselines.io.lines import read_csv_rows

LABELS: tuple[str, ...] = (
    "LeftLungAffected",
    "RightLungAffected",
    "CavernsLeft",
    "CavernsRight",
    "PleurisyLeft",
    "PleurisyRight",
)
FINDINGS: tuple[str, ...] = ("affected", "caverns", "pleurisy")
ID_COLUMN = "Filename"  # as released (the organisers' label README: "Filename - train file name")


def lung_label_order(labels: Sequence[str]) -> list[tuple[int, int]]:
    """For each label name, its (lung, finding) position in the network output (lung 0 = left).

    Names must contain Left/Right and one of Affected/Caverns/Pleurisy (case-insensitive).
    """
    order = []
    for name in labels:
        low = name.lower()
        lungs = [i for i, side in enumerate(("left", "right")) if side in low]
        findings = [i for i, f in enumerate(FINDINGS) if f in low]
        if len(lungs) != 1 or len(findings) != 1:
            raise ValueError(f"label {name!r} must name one lung (Left/Right) and one finding {FINDINGS}")
        order.append((lungs[0], findings[0]))
    if len(set(order)) != len(order):
        raise ValueError(f"labels {list(labels)} repeat a (lung, finding) pair")
    return order


def read_labels(path: str | Path, labels: Sequence[str] = LABELS) -> dict[str, np.ndarray]:
    """Reads the label CSV as released: a header row, then one CT per row with 0/1 values.

    The 2020 training labels (`CT Report.csv`; excerpt in tests/fixtures/real/tuberculosis) start with
    `Filename,LeftLungAffected,RightLungAffected,CavernsLeft,CavernsRight,PleurisyLeft,PleurisyRight`; the
    id column is the first one and must be called `Filename` (any case), the label columns are found by name.
    """
    problems = ProblemCollector(path)
    header, rows = read_csv_rows(path, tuple(labels), problems)
    if header[0].lower() != ID_COLUMN.lower():
        problems.add(1, f"the first column must be {ID_COLUMN!r} (the CT file name); got {header[0]!r}")
        problems.raise_if_any()
    id_column = header[0]
    result: dict[str, np.ndarray] = {}
    first: FirstLines[str] = FirstLines(problems, "CT")
    for number, row in rows:
        ct = row[id_column]
        if not ct:
            problems.add(number, f"empty value in column(s) {id_column}")
            continue
        if not first.add(ct, number):
            continue
        values = [row[name] for name in labels]
        if any(v not in ("0", "1") for v in values):
            problems.add(number, f"label values must be 0 or 1, got {values}")
            continue
        result[ct] = np.array([int(v) for v in values], np.float32)
    problems.raise_if_any()
    return result


def list_volumes(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingDataError(f"{folder}: CT folder not found")
    return sorted(p for p in folder.iterdir() if p.name.endswith((".nii.gz", ".nii")))
