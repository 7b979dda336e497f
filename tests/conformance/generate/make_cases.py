"""Writes the conformance case folders `tests/conformance/<task>/<case>/` from the `cases_<task>.py` modules.

Each module lists `CASES = [(name, {file name: text}, note)]`; texts are written as UTF-8 bytes exactly as given
(BOMs, CRLF endings and missing final newlines are part of some cases). The expected numbers in
`<task>/expected.json` come from running the official evaluators offline (see ../README.md); this script does
not touch them.

Usage: python tests/conformance/generate/make_cases.py [task ...]
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TASKS = ("vqa", "vqg", "concepts", "tbct", "lmrt", "coral_polygons", "drawnui", "coral_boxes", "coral_masks")


def write_task(task: str) -> list[str]:
    """Rewrites the case folders of one task and returns the case names."""
    module = importlib.import_module(f"cases_{task}")
    names = [name for name, _, _ in module.CASES]
    if len(names) != len(set(names)):
        raise ValueError(f"{task}: case names repeat")
    for name, files, _ in module.CASES:
        folder = ROOT / task / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for file_name, text in files.items():
            (folder / file_name).write_bytes(text.encode("utf-8"))
    stale = sorted(p.name for p in (ROOT / task).iterdir() if p.is_dir() and p.name not in names)
    if stale:
        print(f"{task}: folders without a case (left alone): {', '.join(stale)}")
    return names


def main(tasks: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    for task in tasks or TASKS:
        print(task, len(write_task(task)), "cases")


if __name__ == "__main__":
    main(sys.argv[1:])
