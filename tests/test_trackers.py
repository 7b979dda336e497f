"""Experiment trackers (extra `trackers`): W&B offline and an MLflow file store get the run's resolved config
as hyperparameters and the official test scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baselines.cli import main
from baselines.config import compose_config
from baselines.pipeline import run
from baselines.tracking import finish_runs

SPLL = ("experiment=spll", "+demo=spll", "trainer.max_epochs=3")


def test_wandb_offline_run_records_config_and_test_scores(
    spll_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wandb = pytest.importorskip("wandb", reason="needs the trackers extra (pip install '.[trackers]')")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for key in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):  # nothing written under ~
        monkeypatch.setenv(key, str(tmp_path / "wandb-home"))
    out = tmp_path / "run"
    cfg = compose_config(
        "train", [*SPLL, f"paths.root_dir={spll_root}", f"paths.output_dir={out}", "logger=[csv,wandb]"]
    )
    try:
        summary = run(cfg)
        logged = wandb.run
        assert logged is not None and logged.offline
        assert logged.config["model"]["optim"]["optimizer"]["lr"] == cfg.model.optim.optimizer.lr  # the resolved config
        assert (
            logged.config["task"] == "spll"
            and logged.config["data"]["loader"]["batch_size"] == cfg.data.loader.batch_size
        )
        for name, value in summary["scores"].items():
            assert logged.summary[f"test/{name}"] == pytest.approx(value)
    finally:
        finish_runs()
    assert wandb.run is None  # the next run of a sweep in this process starts its own W&B run
    wandb.teardown()  # wandb-core writes the run's file in the background: wait for it (a process exit does too)
    (record,) = out.glob("wandb/offline-run-*/run-*.wandb")  # what `wandb sync` uploads later
    data = record.read_bytes()
    assert b"test/sign_accuracy" in data and b'"lr":0.003' in data


def test_mlflow_file_store_records_params_and_test_scores(
    spll_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow", reason="needs the trackers extra (pip install '.[trackers]')")
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # logger=mlflow sets it for the run (env_set)
    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            *SPLL,
            "logger=mlflow",
            f"paths.root_dir={spll_root}",
            f"paths.log_dir={tmp_path / 'logs'}",
            f"hydra.run.dir={run_dir}",
        ]
    )
    assert code == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    store = tmp_path / "logs" / "mlruns"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=f"file:{store}")
    experiment = client.get_experiment_by_name("spll")
    assert experiment is not None
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.info.status == "FINISHED"
    params = logged.data.params
    assert params["task"] == "spll" and float(params["model/optim/optimizer/lr"]) == 0.003  # flattened resolved config
    assert params["trainer/max_epochs"] == "3"
    for name, value in summary["scores"].items():
        assert logged.data.metrics[f"test/{name}"] == pytest.approx(value)
    history = client.get_metric_history(logged.info.run_id, "val/mae")
    assert len(history) == 3 and min(m.value for m in history) == pytest.approx(summary["monitor"]["value"])
