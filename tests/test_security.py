"""Files from others never run code; what a run started from is recorded (docs/security.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import timm
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from safetensors.torch import save_file

from baselines.checkpoints import RECORD_KEY
from baselines.pipeline import run
from baselines.runfiles.provenance import provenance_path
from conftest import TINY_DRAWNUI

Compose = Callable[..., DictConfig]
SOURCE = Path(__file__).resolve().parents[1] / "src" / "baselines"


def test_local_weights_are_recorded_with_their_sha256(demo_cfg: Compose, drawnui_root: Path, tmp_path: Path) -> None:
    weights = tmp_path / "resnet10t.safetensors"
    save_file(timm.create_model("resnet10t", features_only=True, out_indices=(1, 2, 3, 4)).state_dict(), str(weights))
    summary = run(
        demo_cfg("drawnui", *TINY_DRAWNUI, "debug=fast_dev_run", f"model.net.pretrained={weights}", root=drawnui_root)
    )
    record = json.loads(provenance_path(summary["run_file"]).read_text())
    assert record["weights_sha256"] == {"model.net.pretrained": hashlib.sha256(weights.read_bytes()).hexdigest()}


def test_the_suite_never_lets_hub_code_run() -> None:
    # transformers/open_clip only execute a hub repository's own Python with trust_remote_code=True
    offenders = [str(p) for p in SOURCE.rglob("*.py") if "trust_remote_code" in p.read_text()]
    assert offenders == []


def test_environment_values_are_never_recorded(
    demo_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`+leak=${oc.env:SECRET}` (typed, or hidden in a config file) stays that expression in every record a run
    writes: provenance, hparams.yaml, the checkpoint's stored config."""
    monkeypatch.setenv("SECRET", "hunter2-secret-value")
    spll = ("synthetic.n_train=16", "synthetic.n_test=4", "trainer.max_epochs=1")
    instantiate(demo_cfg("spll", *spll).synthetic)
    cfg = demo_cfg("spll", *spll, "+leak=${oc.env:SECRET}", "+built=${leak}/x", "+kept=${oc.env:UNSET_VAR,fallback}")
    assert cfg.leak == "hunter2-secret-value"  # the run itself sees the value
    summary = run(cfg)
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert any(p.name == "hparams.yaml" for p in written) and summary["checkpoint"]
    for path in written:
        assert b"hunter2-secret-value" not in path.read_bytes(), path
    record = json.loads(provenance_path(summary["run_file"]).read_text())
    assert record["config"]["leak"] == "${oc.env:SECRET}"
    assert record["config"]["built"] == "${oc.env:SECRET}/x"
    assert record["config"]["kept"] == "${oc.env:UNSET_VAR,'fallback'}"
    stored = torch.load(summary["checkpoint"], weights_only=True)[RECORD_KEY]["config"]
    assert stored["leak"] == "${oc.env:SECRET}"
