"""`baselines demo`: quiet terminal (a line per task, then the table), a log and a result per task, a summary."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from baselines.cli import main
from baselines.demo import make_data_once


@pytest.mark.slow
def test_demo_prints_a_line_per_task_and_writes_logs_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--tasks", "spll", "--out", str(out), "synthetic.n_train=16", "trainer.max_epochs=3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("demo: 1 tasks")
    assert printed[1].startswith("[1/1] spll            sign_accuracy ")
    assert "| spll | sign_accuracy |" in "\n".join(printed)
    assert not any("GPU available" in line or "LOCAL_RANK" in line for line in printed)  # Lightning's chatter
    log = (out / "spll" / "demo.log").read_text()
    assert "spll scores:" in log  # the whole log went to the file
    summary = json.loads((out / "summary.json").read_text())
    [task] = summary["tasks"]
    assert task["ok"] and task["name"] == "spll" and task["cpu_seconds"] > 0
    assert Path(task["run_file"]).is_file() and task["log_file"] == str(out / "spll" / "demo.log")
    assert "| spll | sign_accuracy |" in (out / "summary.md").read_text()
    assert task["overlay"] == ""  # SPLL is tabular: nothing to draw


def test_an_unknown_demo_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--tasks", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown demo(s) ['nope']" in capsys.readouterr().err


def test_tasks_sharing_a_dataset_make_it_once_and_never_read_it_half_made(tmp_path: Path) -> None:
    """caption and concepts (or VQA and VQG, the coral tasks) run side by side on one synthetic dataset: the
    second waits while the first makes it, then reuses it; another demo run makes it anew."""
    root = tmp_path / "data" / "medcaption"
    made: list[str] = []
    seen: dict[str, str] = {}

    def make() -> None:
        made.append("start")
        root.mkdir(parents=True, exist_ok=True)
        (root / "captions.txt").write_text("half")
        time.sleep(0.3)  # a task starting now must not read the half-made file
        (root / "captions.txt").write_text("whole")
        made.append("end")

    def task(name: str) -> None:
        make_data_once(root, '["run-1", {"seed": 0}]', make)
        seen[name] = (root / "captions.txt").read_text()

    threads = [threading.Thread(target=task, args=(name,)) for name in ("caption", "concepts")]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    assert made == ["start", "end"]
    assert seen == {"caption": "whole", "concepts": "whole"}
    assert make_data_once(root, '["run-2", {"seed": 0}]', make) is True  # a new demo run: made anew
    assert make_data_once(root, '["run-2", {"seed": 1}]', make) is True  # other settings: made anew
    assert make_data_once(root, '["run-2", {"seed": 1}]', make) is False
