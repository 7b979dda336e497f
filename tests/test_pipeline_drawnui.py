"""The whole path on tiny synthetic drawnUI data: train, predict, write, validate, score; seeds,
resume, provenance and overwrite protection."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from baselines.cli import main
from baselines.config import compose_config
from baselines.io.hashes import sha256_file
from baselines.pipeline import run
from baselines.runfiles.provenance import provenance_path
from baselines.tasks import get_task
from conftest import TINY_DRAWNUI

Compose = Callable[..., DictConfig]


def test_fast_dev_run_writes_a_valid_run_file(demo_cfg: Compose, drawnui_root: Path) -> None:
    summary = run(demo_cfg("drawnui", *TINY_DRAWNUI, "debug=fast_dev_run", root=drawnui_root))
    run_file = Path(summary["run_file"])
    lines = run_file.read_text().splitlines()
    assert len(lines) == 2  # fast_dev_run predicts one batch of 2 images
    get_task("drawnui").parse_run(run_file, None)
    assert provenance_path(run_file).is_file()


def test_training_scores_and_provenance(demo_cfg: Compose, drawnui_root: Path, tmp_path: Path) -> None:
    cfg = demo_cfg("drawnui", *TINY_DRAWNUI, "trainer.max_epochs=1", "seed=7", root=drawnui_root)
    summary = run(cfg)
    assert set(summary["scores"]) == {"map_50", "precision_50", "recall_50"}
    assert "train/loss" in summary["metrics"]
    run_file = Path(summary["run_file"])
    assert len(run_file.read_text().splitlines()) == 3  # one line per test image, empty or not
    record = json.loads(provenance_path(run_file).read_text())
    assert record["seed"] == 7
    assert record["torch_version"] == torch.__version__  # the torch that trained and predicted, CUDA tag included
    assert record["task"] == "drawnui"
    assert record["run_file_sha256"] == sha256_file(run_file)
    assert record["checkpoint_sha256"] == sha256_file(summary["checkpoint"])
    assert record["config"]["model"]["net"]["backbone"] == "resnet10t"
    assert len(record["dataset_fingerprint"]) == 64
    scores = json.loads(run_file.with_name(run_file.name + ".scores.json").read_text())
    assert scores == summary["scores"]


def _run_file_bytes(summary: dict) -> bytes:
    return Path(summary["run_file"]).read_bytes()


def test_same_seed_gives_identical_run_file(demo_cfg: Compose, drawnui_root: Path) -> None:
    common = (*TINY_DRAWNUI, "trainer.max_epochs=1", "model.net.box_score_thresh=0.0")
    first = run(demo_cfg("drawnui", *common, root=drawnui_root, output="one"))
    second = run(demo_cfg("drawnui", *common, root=drawnui_root, output="two"))
    assert _run_file_bytes(first) == _run_file_bytes(second)
    assert len(_run_file_bytes(first)) > 100  # non-trivial: detections were written


@pytest.mark.slow
def test_resume_from_last_checkpoint_matches_uninterrupted_run(demo_cfg: Compose, drawnui_root: Path) -> None:
    common = (*TINY_DRAWNUI, "model.net.box_score_thresh=0.0", "callbacks.model_checkpoint.monitor=null")
    whole = run(demo_cfg("drawnui", *common, "trainer.max_epochs=2", root=drawnui_root, output="whole"))
    # same config, stopped after the first epoch's 3 steps, as an interrupted job would be
    half = run(
        demo_cfg("drawnui", *common, "trainer.max_epochs=2", "+trainer.max_steps=3", root=drawnui_root, output="half")
    )
    last = Path(half["checkpoint"]).with_name("last.ckpt")
    resumed = run(
        demo_cfg("drawnui", *common, "trainer.max_epochs=2", f"ckpt_path={last}", root=drawnui_root, output="res")
    )
    state = torch.load(Path(resumed["checkpoint"]).with_name("last.ckpt"), weights_only=False, map_location="cpu")
    assert state["epoch"] == 1 and state["global_step"] == 6  # 2 epochs x 3 batches, counting on from epoch 0
    assert _run_file_bytes(resumed) == _run_file_bytes(whole)


def test_existing_run_file_is_not_overwritten_unless_asked(demo_cfg: Compose, drawnui_root: Path) -> None:
    overrides = (*TINY_DRAWNUI, "debug=fast_dev_run", "overwrite=false")
    run(demo_cfg("drawnui", *overrides, root=drawnui_root))
    with pytest.raises(FileExistsError, match="overwrite=true"):
        run(demo_cfg("drawnui", *overrides, root=drawnui_root))
    run(demo_cfg("drawnui", *TINY_DRAWNUI, "debug=fast_dev_run", "overwrite=true", root=drawnui_root))


def test_predict_entry_reproduces_the_training_run_file(
    demo_cfg: Compose, drawnui_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trained = run(demo_cfg("drawnui", *TINY_DRAWNUI, "trainer.max_epochs=1", root=drawnui_root))
    predicted = run(
        compose_config(
            "predict",
            [
                "experiment=drawnui",
                "+demo=drawnui",
                f"paths.root_dir={drawnui_root}",
                f"paths.output_dir={tmp_path / 'pred'}",
                f"ckpt_path={trained['checkpoint']}",
                *TINY_DRAWNUI,
            ],
        )
    )
    assert _run_file_bytes(predicted) == _run_file_bytes(trained)
    assert predicted["scores"] == pytest.approx(trained["scores"])
    gt = drawnui_root / "data/drawnui/test-set.csv"
    images = drawnui_root / "data/drawnui/test"
    assert main(["evaluate", "--task", "drawnui", predicted["run_file"], "--gt", str(gt), "--images", str(images)]) == 0
    assert re.search(rf"^map_50 +{trained['scores']['map_50']:.4f}  \(primary\)$", capsys.readouterr().out, re.M)


@pytest.mark.slow
def test_failed_run_resumes_from_last_and_matches(demo_cfg: Compose, drawnui_root: Path) -> None:
    common = (*TINY_DRAWNUI, "trainer.max_epochs=2", "model.net.box_score_thresh=0.0")
    whole = run(demo_cfg("drawnui", *common, root=drawnui_root, output="whole"))
    crash = "+callbacks.fail={_target_: conftest.FailAt, epoch: 1, batch: 1}"
    with pytest.raises(RuntimeError, match="simulated failure"):
        run(demo_cfg("drawnui", *common, crash, root=drawnui_root, output="job"))
    # the same command again, resuming from the last checkpoint Lightning finds in the run's folder
    resumed = run(demo_cfg("drawnui", *common, "ckpt_path=last", root=drawnui_root, output="job"))
    assert _run_file_bytes(resumed) == _run_file_bytes(whole)
