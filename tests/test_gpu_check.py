"""The GPU check (scripts/gpu_check.sh): its CPU dry run produces every row, failures are recorded, the
wheel list is pinned.

No GPU is needed: `--device cpu --tiny` runs the same stages, forks and report writers as the GPU run,
on demo-scale models and data, so the script cannot rot between the rare sessions that have a GPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import gpu_check  # noqa: E402
import gpu_wheels  # noqa: E402

STAGES = ["environment", "train:drawnui", "train:caption", "train:vqa", "train:tbct", "retrieval"]


@pytest.mark.slow
def test_dry_run_produces_every_row_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("OUT", None)
    command = ["bash", "scripts/gpu_check.sh", "--device", "cpu", "--tiny", "--out", str(out)]
    result = subprocess.run(
        [*command, "--work-dir", str(tmp_path / "data")], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads((out / "gpu_check.json").read_text())
    wheels = report["wheels"]
    assert wheels == {"installed": [], "conflicts": [], "site": None, "seconds": wheels["seconds"], "error": None}
    assert [stage["stage"] for stage in report["stages"]] == STAGES
    assert all(stage["status"] == "ok" and stage["error"] is None for stage in report["stages"]), report["stages"]
    rows = {(row["section"], row["key"]): row for row in report["rows"]}
    expected = {row for stage in STAGES for row in gpu_check.expected_rows(stage)}
    assert set(rows) == expected and len(report["rows"]) == len(expected) == 11
    assert all(row["status"] == "ok" and "error" not in row for row in rows.values())

    environment = rows["environment", "environment"]
    assert environment["torch"] and environment["python"] == ".".join(map(str, sys.version_info[:3]))
    for task in ("drawnui", "caption", "vqa", "tbct"):
        for precision in ("bf16-mixed", "32-true"):
            row = rows["training", f"{task} {precision}"]
            assert row["task"] == task and row["precision"] == precision and row["batch"] == 2
            for loop in ("suite", "plain"):
                assert row[f"{loop}_images_per_s"] > 0
                assert 0 <= row[f"{loop}_loader_wait"] <= 1
                assert row[f"{loop}_gpu_busy"] is None and row[f"{loop}_peak_gib"] is None  # GPU-only, on the CPU
            assert row["suite_over_plain"] == pytest.approx(row["plain_images_per_s"] / row["suite_images_per_s"])
            assert row["parameters_m"] > 0
    embedding = rows["retrieval", "clip embedding"]
    assert embedding["collection_seconds"] == pytest.approx(190_000 / embedding["images_per_s"])
    query = rows["retrieval", "clip query"]
    assert query["single_ms"] > 0 and query["batched_ms_per_query"] > 0

    markdown = (out / "gpu_check.md").read_text()
    assert markdown in result.stdout  # the table is printed at the end
    table = [line for line in markdown.splitlines() if line.startswith("| drawnui |")]
    assert len(table) == 2 and all(line.endswith("|  |") for line in table)  # both precisions, no error cell
    assert "| retrieval | ok |" in markdown


def _fake_stage(stage: str, settings: Any, emit: Any) -> None:
    """Stands in for gpu_check_stages.run in a forked child: one row, then a hang or a failure."""
    if stage == "train:drawnui":
        emit({"key": "drawnui bf16-mixed", "suite_images_per_s": 1.0})
        time.sleep(60)
    raise RuntimeError(f"no GPU for {stage}")


def test_an_overrunning_or_failing_stage_records_its_error_and_keeps_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gpu_check_stages

    monkeypatch.setattr(gpu_check_stages, "run", _fake_stage)
    rows_path = tmp_path / "rows.jsonl"
    start = time.perf_counter()
    stages = [
        gpu_check.run_stage("train:drawnui", None, 3, rows_path),
        gpu_check.run_stage("retrieval", None, 30, rows_path),
    ]
    assert time.perf_counter() - start < 25  # the hung stage was killed at its limit
    assert [(stage["status"], stage["error"]) for stage in stages] == [
        ("timeout", "stage stopped at its limit of 3 s"),
        ("error", "stage process exited with 1"),
    ]
    rows = gpu_check.collect_rows(stages, rows_path)
    assert [(row["key"], row["status"], row.get("error")) for row in rows] == [
        ("drawnui bf16-mixed", "ok", None),  # measured before the limit: kept
        ("drawnui 32-true", "error", "stage stopped at its limit of 3 s"),
        ("clip embedding", "error", "RuntimeError: no GPU for retrieval"),
        ("clip query", "error", "RuntimeError: no GPU for retrieval"),
    ]
    report = {
        "started": "now",
        "settings": {"tiny": True, "steps": 1, "warmup": 0},
        "wheels": {"installed": []},
        "stages": stages,
        "rows": rows,
        "seconds": 1.0,
    }
    gpu_check.write_report(tmp_path, report)
    assert json.loads((tmp_path / "gpu_check.json").read_text())["rows"] == rows
    markdown = (tmp_path / "gpu_check.md").read_text()
    assert "| train:drawnui | timeout |" in markdown and "RuntimeError: no GPU for retrieval |" in markdown
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gpu_check.json", "gpu_check.md", "rows.jsonl"]


def test_every_carried_wheel_is_pinned_once_for_the_gpu_python_and_none_replaces_the_machines_stack() -> None:
    pins = gpu_wheels.locked_pins(gpu_wheels.WHEELS, "3.12")
    assert len(pins) == len(gpu_wheels.WHEELS) and all("==" in pin for pin in pins)
    assert "antlr4-python3-runtime==4.9.3" in pins  # hydra-core 1.3's pin: sdist only, built as a pure wheel
    machine = {"torch", "torchvision", "triton", "numpy", "lightning", "pytorch-lightning", "timm", "transformers"}
    assert not machine & set(gpu_wheels.WHEELS)
    assert gpu_wheels.missing() == []  # the project's venv has them all: the dry run installs nothing


def test_a_missing_requirement_without_wheels_names_the_make_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu_wheels, "missing", lambda names=gpu_wheels.WHEELS: ["hydra-core"])
    with pytest.raises(RuntimeError, match=r"hydra-core not installed and no .*/\.whl/: run `make gpu-wheels`"):
        gpu_wheels.install_missing(tmp_path / ".whl", tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_a_lock_without_a_pin_is_refused_naming_the_file(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("omegaconf==2.3.1\n    # via hydra-core\nnltk==3.9 ; python_full_version < '3.11'\n")
    with pytest.raises(ValueError, match=r"lock.txt has no pin for nltk on Python 3.12: run `make lock`"):
        gpu_wheels.locked_pins(("omegaconf", "nltk"), "3.12", lock)
    assert gpu_wheels.locked_pins(("omegaconf",), "3.12", lock) == ["omegaconf==2.3.1"]


def test_conflicts_name_what_the_machines_own_versions_do_not_satisfy(monkeypatch: pytest.MonkeyPatch) -> None:
    requires = {"albumentations": ["pydantic>=2.9.2", "albucore==0.0.24", "numpy>=1.24.4", "torch; extra == 'torch'"]}
    versions = {"albumentations": "2.0.8", "pydantic": "2.5.0", "numpy": "2.5.2"}

    def version(name: str) -> str:
        if name not in versions:
            raise gpu_wheels.metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(gpu_wheels.metadata, "requires", lambda name: requires[name])
    monkeypatch.setattr(gpu_wheels.metadata, "version", version)
    assert gpu_wheels.conflicts(("albumentations",)) == [
        "albumentations requires pydantic>=2.9.2, pydantic 2.5.0 is installed",
        "albumentations requires albucore==0.0.24, which is not installed",
    ]  # numpy satisfies its pin; torch is an extra's requirement
