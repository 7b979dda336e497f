"""Every conformance case through the command line: `baselines evaluate` and `baselines validate` return promptly,
within a memory cap, and print what the case expects.

`evaluate --task tbct` on a label with one class never returned (issue 27): `printed_warnings` handed the sklearn
warning back to `warnings.showwarning` inside `catch_warnings(record=True)`, which recorded it again into the list
it was printing. Each task's cases run in one child process (a fresh interpreter costs seconds; the cases
themselves milliseconds), which calls the CLI's `main` once per command, under a timeout and an address-space cap.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from harness import ROOT, cases, target
from PIL import Image

from baselines.io.formats.tuberculosis import LABELS

MEMORY_CAP = 4 << 30  # bytes of address space: the hang grew past 8 GB; a case needs a few hundred MB
TIMEOUT = 240  # seconds for one task's cases, both commands (about 10 s on a busy 2-core machine)

# The child: runs `baselines.cli.main(argv)` for each job, its stdout and stderr captured, and writes what each gave.
CHILD = """
import contextlib, io, json, sys
from baselines.cli import main
results = {}
for name, argv in json.load(open(sys.argv[1])):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results[name] = {"rc": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
json.dump(results, open(sys.argv[2], "w"))
"""

# task folder -> (task, run file, ground truth, what --images is: a file of the case, "folder" or None); an LMRT
# folder holds an empty file per allowed image id (the collection the official evaluator checks ids against)
LAYOUT: dict[str, tuple[str, str, str, str | None]] = {
    "vqa": ("vqa", "run.txt", "reference.txt", "questions.txt"),
    "vqg": ("vqg", "run.txt", "reference.txt", None),
    "concepts": ("concepts", "run.txt", "gt.txt", None),
    "tbct": ("tbct", "run.csv", "gt.csv", None),
    "lmrt": ("lmrt", "run.csv", "gt.csv", "folder"),
    "coral_polygons": ("coral_polygons", "run.txt", "gt.txt", "folder"),
    "coral_masks": ("coral_polygons", "run.txt", "gt.txt", "folder"),
    "coral_boxes": ("coral_boxes", "run.txt", "gt.txt", "folder"),
    "drawnui": ("drawnui", "run.txt", "gt.txt", "folder"),
}
# The metrics `evaluate --json` prints under the official names (the per-class APs are not printed).
PRINTED = {
    "vqa": {"accuracy": "accuracy", "bleu": "bleu"},
    "vqg": {"bleu": "bleu"},
    "concepts": {"f1": "f1"},
    "tbct": {"mean_auc": "mean_auc_official", "min_auc": "min_auc_official"},
    "lmrt": {"f1@10": "f1@10", "p@10": "p@10", "cr@10": "cr@10"},
    "coral_polygons": {"iou_average": "pixel_iou"},
    "coral_masks": {"map_50": "map_50", "recall_50": "recall_50"},
    "coral_boxes": {"map_50": "map_50"},
    "drawnui": {"map_50": "map_50"},
}


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(jobs: list[tuple[str, list[str]]], tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Runs the jobs (name, CLI arguments) in one child process under TIMEOUT and MEMORY_CAP."""
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "jobs.json"), str(tmp_path / "results.json")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=limited,
        env=env,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    results: dict[str, dict[str, Any]] = json.loads((tmp_path / "results.json").read_text())
    return results


def _images(case: Path, folder: Path, task: str) -> Path:
    folder.mkdir(parents=True)
    if task == "lmrt":
        for image_id in (case / "allowed_image_ids.txt").read_text().split():
            (folder / image_id).touch()
        return folder
    for image_id, (width, height) in json.loads((case / "sizes.json").read_text()).items():
        Image.new("1", (width, height)).save(folder / (image_id if task == "drawnui" else f"{image_id}.png"), "PNG")
    return folder


def _arguments(folder: str, case: Path, tmp_path: Path) -> list[str]:
    task, run, truth, images = LAYOUT[folder]
    arguments = ["--task", task, str(case / run), "--gt", str(case / truth)]
    if images == "folder":
        arguments += ["--images", str(_images(case, tmp_path / "images" / case.name, task))]
    elif images is not None:
        arguments += ["--images", str(case / images)]
    return arguments


def _same(value: Any, mine: Any) -> bool:
    if value is None or value == "NaN" or (isinstance(value, float) and math.isnan(value)):
        return mine is None or (isinstance(mine, float) and math.isnan(mine))
    return bool(abs(mine - value) <= 1e-4)


def _check(name: str, wanted: Mapping[str, Any], evaluated: Mapping[str, Any], validated: Mapping[str, Any]) -> None:
    for result in (evaluated, validated):
        assert "Traceback" not in result["stderr"] and "Exception ignored" not in result["stderr"], result["stderr"]
    if "rejected" in wanted:
        assert evaluated["rc"] == 2 and "invalid input" in evaluated["stderr"], (name, evaluated)
        return
    assert evaluated["rc"] == 0 and validated["rc"] == 0, (name, evaluated["stderr"], validated["stderr"])
    assert "valid" in validated["stdout"], (name, validated)
    scores = json.loads(evaluated["stdout"])
    folder = name.split("/")[0]
    compared = [(metric, key) for metric, key in PRINTED[folder].items() if metric in wanted]
    assert compared, (name, sorted(wanted))
    for metric, key in compared:
        assert _same(wanted[metric], scores[key]), (name, metric, scores[key], wanted[metric])


@pytest.mark.parametrize("folder", sorted(LAYOUT))
def test_every_case_through_the_cli_returns_promptly_with_the_expected_result(folder: str, tmp_path: Path) -> None:
    jobs = []
    expected = {}
    for param in cases(folder):
        case, entry = param.values
        name = f"{folder}/{case.name}"
        arguments = _arguments(folder, case, tmp_path)
        jobs.append((f"{name} evaluate", ["evaluate", "--json", *arguments]))
        jobs.append((f"{name} validate", ["validate", *arguments]))
        expected[name] = target(entry)
    results = run_cli(jobs, tmp_path)
    for name, wanted in expected.items():
        _check(name, wanted, results[f"{name} evaluate"], results[f"{name} validate"])


ONE_CLASS = ["single_class_label", "single_class_label_all_ones", "two_single_class_labels", "every_label_single_class"]


def test_a_one_class_tb_label_prints_the_official_nan_and_the_warning_once_and_returns(tmp_path: Path) -> None:
    jobs = [(name, ["evaluate", *_arguments("tbct", ROOT / "tbct" / name, tmp_path)]) for name in ONE_CLASS]
    results = run_cli(jobs, tmp_path)
    undefined = {
        "single_class_label": ["PleurisyRight"],
        "single_class_label_all_ones": ["LeftLungAffected"],
        "two_single_class_labels": ["CavernsLeft", "CavernsRight"],
        "every_label_single_class": list(LABELS),
    }
    for name, labels in undefined.items():
        result = results[name]
        assert result["rc"] == 0, result["stderr"]
        lines = dict(line.split()[:2] for line in result["stdout"].splitlines())
        assert lines["mean_auc_official"] == "nan" and lines["min_auc_official"] == "nan", result["stdout"]
        assert all(lines[f"auc/{label}"] == "nan" for label in labels), result["stdout"]
        warned = [line for line in result["stderr"].splitlines() if "has one class only" in line]
        assert len(warned) == 1 and all(label in warned[0] for label in labels), result["stderr"]
        assert "UserWarning" in warned[0]
