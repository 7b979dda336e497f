"""Score sidecars written by predict: what the writer stores for the concept and VQA models, recorded in
the provenance, and that an ensemble of a model's runs averages them back to the model's decisions."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from baselines.ensemble import ensemble_runs
from baselines.io.hashes import sha256_file
from baselines.io.sidecar import read_sidecar, sidecar_path
from baselines.pipeline import run
from baselines.runfiles.provenance import provenance_path
from baselines.runfiles.writer import RunFileWriter
from baselines.tasks import get_task


def _copies(run_file: Path, folder: Path, n: int) -> list[Path]:
    """Copies of a run file with its sidecar (the sidecar's name follows its run's)."""
    paths = []
    for k in range(n):
        copy = folder / f"copy{k}_{run_file.name}"
        shutil.copy(run_file, copy)
        shutil.copy(sidecar_path(run_file), sidecar_path(copy))
        paths.append(copy)
    return paths


@pytest.mark.parametrize("task", ["concepts", "vqa"])
def test_predict_writes_a_score_sidecar_that_ensembles_average(
    task: str, demo_cfg: Callable[..., Any], tmp_path: Path
) -> None:
    tiny = {"concepts": ("synthetic.n_train=12",), "vqa": ("synthetic.n_train=24",)}[task]
    cfg = demo_cfg(
        task,
        *tiny,
        "synthetic.n_test=4",
        "data.loader.batch_size=4",
        "debug=fast_dev_run",
        "callbacks.run_file_writer.sidecar=true",
        "model.tta.hflip=true",
    )
    instantiate(cfg.synthetic)
    run_file = Path(run(cfg)["run_file"])
    spec = get_task(task)
    parsed = spec.parse_run(run_file, None)
    sidecar = read_sidecar(sidecar_path(run_file), run_file)
    assert sidecar.ids == list(parsed) and sidecar.scores.shape[0] == 4
    record = json.loads(provenance_path(run_file).read_text())
    side = sidecar_path(run_file)
    assert record["score_sidecar"] == {"path": side.name, "sha256": sha256_file(side)}
    assert record["config"]["model"]["tta"]["hflip"] is True
    if task == "vqa":  # the answer is the most probable one of the stored distribution
        assert [sidecar.labels[int(np.argmax(row))] for row in sidecar.scores] == list(parsed.values())
        np.testing.assert_allclose(sidecar.scores.sum(1), 1.0, rtol=1e-5)
    else:
        assert sidecar.extras["thresholds"].shape == (len(sidecar.labels),)
    out = tmp_path / "fused.txt"
    result = ensemble_runs(spec, _copies(run_file, tmp_path, 2), out)
    assert "sidecars of every run" in result.notes[0]
    assert spec.parse_run(out, None) == parsed  # the model's own decision rule, from the averaged scores


def test_a_sidecar_needs_a_module_with_raw_scores(tmp_path: Path) -> None:
    writer = RunFileWriter(str(tmp_path / "run.txt"), sidecar=True)
    with pytest.raises(ValueError, match="sidecar=true, but Linear has no per-item raw scores"):
        writer.on_predict_start(None, torch.nn.Linear(1, 1))  # type: ignore[arg-type]
