"""Files from others never run code; what a run started from is recorded (docs/security.md)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import timm
from omegaconf import DictConfig
from safetensors.torch import save_file

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
