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
    assert (out / "spll" / "runs" / "untrained.csv").is_file()  # the untrained run has the task's suffix too
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


def test_the_overlay_is_the_picture_baselines_draw_makes(tmp_path: Path) -> None:
    """The demo draws through `baselines.visual.drawing` (not the CLI): its overlay is `baselines draw`'s PNG."""
    import numpy as np
    from omegaconf import OmegaConf
    from PIL import Image

    from baselines.demo import _overlay
    from baselines.tasks import get_task

    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(images / name)
    (tmp_path / "run.txt").write_text("a.png;button 0.9:50x40+10+20\nb.png;\n")
    (tmp_path / "gt.txt").write_text("a.png;button 1:50x40+12+20\nb.png;\n")
    cfg = OmegaConf.create(
        {
            "task": "drawnui",
            "data": {"predict_images": str(images)},
            "evaluation": {"ground_truth": str(tmp_path / "gt.txt")},
        }
    )
    overlay = _overlay(cfg, get_task("drawnui"), str(tmp_path / "run.txt"), tmp_path / "demo")
    assert overlay == str(tmp_path / "demo" / "overlays" / "drawnui.png")
    drawn = ["draw", "--task", "drawnui", str(tmp_path / "run.txt"), "--images", str(images)]
    assert main([*drawn, "--gt", str(tmp_path / "gt.txt"), "--out", str(tmp_path / "cli"), "--limit", "1"]) == 0
    assert Path(overlay).read_bytes() == (tmp_path / "cli" / "a.png").read_bytes()
    assert not any((tmp_path / "demo" / "drawnui" / "overlay").iterdir())  # the one picture was moved out


def test_a_task_without_pictures_has_no_overlay(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from baselines.demo import _overlay
    from baselines.tasks import get_task

    cfg = OmegaConf.create({"task": "spll", "data": {}})
    assert _overlay(cfg, get_task("spll"), str(tmp_path / "run.csv"), tmp_path) == ""
    assert not any(tmp_path.iterdir())
