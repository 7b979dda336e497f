"""Checkpoints on the real user's path: self-describing, refused when they cannot be right, never trusted blindly."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.checkpoints import (
    RECORD_KEY,
    CheckpointError,
    load_checkpoint,
    read_record,
    with_checkpoint_overrides,
)
from baselines.cli import main
from baselines.pipeline import run
from baselines.runfiles.provenance import provenance_path

Compose = Callable[..., DictConfig]
SPLL = ("synthetic.n_train=16", "synthetic.n_test=4", "trainer.max_epochs=2")


@pytest.fixture
def spll_checkpoint(demo_cfg: Compose, tmp_path: Path) -> tuple[dict, list[str]]:
    overrides = ["experiment=spll", "+demo=spll", f"paths.root_dir={tmp_path}", *SPLL]
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    summary = run(demo_cfg("spll", *SPLL, output="train"), overrides)
    return summary, overrides


def test_checkpoint_records_task_overrides_and_config(spll_checkpoint: tuple[dict, list[str]]) -> None:
    summary, overrides = spll_checkpoint
    record = read_record(summary["checkpoint"])
    assert record is not None
    assert record["task"] == "spll"
    assert record["overrides"] == overrides
    assert record["config"]["model"]["net"]["hidden"] == 32


def test_predict_with_only_a_checkpoint_reproduces_the_run_file(
    spll_checkpoint: tuple[dict, list[str]], tmp_path: Path
) -> None:
    summary, _ = spll_checkpoint
    out = tmp_path / "predicted"
    code = main(["predict", f"ckpt_path={summary['checkpoint']}", f"paths.output_dir={out}", f"hydra.run.dir={out}"])
    assert code == 0
    predicted = out / "runs" / "spll.csv"
    assert predicted.read_bytes() == Path(summary["run_file"]).read_bytes()
    record = json.loads(provenance_path(predicted).read_text())
    assert record["checkpoint"] == summary["checkpoint"] and record["untrained"] is False


def test_predict_without_a_checkpoint_is_refused(demo_cfg: Compose) -> None:
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    with pytest.raises(CheckpointError, match=r"ckpt_path=<checkpoint file>.*allow_untrained=true"):
        run(demo_cfg("spll", *SPLL, "train=false"))


def test_an_untrained_run_file_on_purpose_says_so(demo_cfg: Compose) -> None:
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    summary = run(demo_cfg("spll", *SPLL, "train=false", "allow_untrained=true"))
    record = json.loads(provenance_path(summary["run_file"]).read_text())
    assert record["untrained"] is True and record["checkpoint"] is None


def test_ckpt_path_last_without_a_checkpoint_names_the_folder(demo_cfg: Compose, tmp_path: Path) -> None:
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    with pytest.raises(CheckpointError, match=rf"no last.ckpt in {tmp_path / 'out' / 'checkpoints'}"):
        run(demo_cfg("spll", *SPLL, "ckpt_path=last"))


def test_a_checkpoint_of_another_task_is_refused_by_name(
    spll_checkpoint: tuple[dict, list[str]], demo_cfg: Compose
) -> None:
    summary, _ = spll_checkpoint
    with pytest.raises(CheckpointError, match="is from spll, not concepts"):
        run(demo_cfg("concepts", "train=false", f"ckpt_path={summary['checkpoint']}"))


def test_a_checkpoint_that_does_not_fit_the_model_says_what_differs(
    spll_checkpoint: tuple[dict, list[str]], demo_cfg: Compose
) -> None:
    summary, _ = spll_checkpoint
    cfg = demo_cfg("spll", *SPLL, "train=false", "model.net.hidden=16", f"ckpt_path={summary['checkpoint']}")
    with pytest.raises(CheckpointError, match=r"does not fit the model this config builds \(\d+ shape mismatches\)"):
        run(cfg)


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match=r"evil.ckpt: refused to load.*re-save it with weights only"):
        load_checkpoint(path)
    assert not marker.exists()


def test_stored_config_naming_untrusted_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "stranger.ckpt"
    hook = f"+model.hook={{_target_: os.system, command: 'touch {marker}'}}"
    record = {"task": "spll", "overrides": ["experiment=spll", hook]}
    torch.save({"state_dict": {}, RECORD_KEY: record}, path)
    with pytest.raises(CheckpointError, match=r"outside the trusted packages: os.system"):
        with_checkpoint_overrides([f"ckpt_path={path}"])
    assert main(["predict", f"ckpt_path={path}", f"hydra.run.dir={tmp_path}"]) == 2
    assert not marker.exists()
    replayed = with_checkpoint_overrides([f"ckpt_path={path}", "trust_checkpoint=true"])
    assert replayed[0] == "experiment=spll"


def test_replayed_overrides_yield_to_the_users_and_drop_run_specific_ones(tmp_path: Path) -> None:
    path = tmp_path / "mine.ckpt"
    stored = ["experiment=spll", "+demo=spll", "paths.output_dir=/old", "data.batch_size=8", "ckpt_path=a.ckpt"]
    torch.save({"state_dict": {}, RECORD_KEY: {"task": "spll", "overrides": stored}}, path)
    argv = [f"ckpt_path={path}", "data.batch_size=2"]
    assert with_checkpoint_overrides(argv) == ["experiment=spll", "+demo=spll", *argv]
    explicit = ["experiment=spll", f"ckpt_path={path}"]
    assert with_checkpoint_overrides(explicit) == explicit
