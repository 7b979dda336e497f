"""Faults around a training run: preemption by SIGTERM, crashes during a checkpoint save, unwritable output."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

import lightning.pytorch as pl
import pytest
from hydra.utils import instantiate
from lightning.pytorch.plugins.io import TorchCheckpointIO
from omegaconf import DictConfig

from baselines.checkpoints import load_checkpoint
from baselines.pipeline import run
from tasks import KITS

Compose = Callable[..., DictConfig]
SPLL = (*KITS["spll"].tiny, "trainer.max_epochs=3")


class SigtermAt(pl.Callback):
    """Sends this process SIGTERM at one training batch, as a cluster preempting the job would (tests only)."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch = epoch
        self.batch = batch

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: object, batch_idx: int
    ) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_saves_a_resumable_checkpoint_exits_143_and_says_how_to_resume(
    demo_cfg: Compose, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    overrides = ["experiment=spll", "+demo=spll", f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}/job"]
    sigterm = "+callbacks.sigterm={_target_: test_faults.SigtermAt, epoch: 1, batch: 0}"
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as stopped:
        run(demo_cfg("spll", *SPLL, sigterm, output="job"), overrides)
    assert stopped.value.code == 143
    last = tmp_path / "job" / "checkpoints" / "last.ckpt"
    state = load_checkpoint(last)
    assert state["global_step"] == 2  # the state reached when the signal came (1 batch per epoch), not epoch 0's
    assert f"baselines train {' '.join(overrides)} ckpt_path=last" in caplog.text
    assert not (tmp_path / "job" / "runs" / "spll.csv").exists()  # no run file from a stopped training
    resumed = run(demo_cfg("spll", *SPLL, "ckpt_path=last", output="job"), overrides)
    assert Path(resumed["run_file"]).is_file()


def test_a_crash_while_saving_a_checkpoint_keeps_the_previous_one(
    demo_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    run(demo_cfg("spll", *SPLL, "trainer.max_epochs=1", "predict=false", output="job"))
    last = tmp_path / "job" / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    real_save = TorchCheckpointIO.save_checkpoint

    def crash_mid_write(self: TorchCheckpointIO, checkpoint: dict, path: str, storage_options: object = None) -> None:
        real_save(self, checkpoint, path, storage_options)
        with open(path, "r+b") as handle:  # the file being written is cut short, then the disk fills up
            handle.truncate(100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", crash_mid_write)
    with pytest.raises(OSError, match="No space left on device"):
        run(demo_cfg("spll", *SPLL, "trainer.max_epochs=2", "predict=false", "ckpt_path=last", output="job"))
    assert last.read_bytes() == before
    assert "net.0.weight" in load_checkpoint(last)["state_dict"]  # whole and loadable
    assert sorted(p.name for p in last.parent.iterdir() if p.name.endswith(".tmp")) == []


def test_an_unwritable_run_file_folder_fails_before_training(
    demo_cfg: Compose, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import errno

    from baselines.io import atomic

    instantiate(demo_cfg("spll", *SPLL).synthetic)

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    trained = []
    monkeypatch.setattr(atomic.tempfile, "mkstemp", read_only)
    monkeypatch.setattr(pl.Trainer, "fit", lambda *a, **k: trained.append(1))
    with pytest.raises(OSError, match=r"cannot write .*runs/\.spll\.csv\.probe: Read-only file system"):
        run(demo_cfg("spll", *SPLL))
    assert not trained


@pytest.mark.parametrize("failing", [".provenance.json", ".scores.json"])
def test_a_full_disk_never_leaves_a_run_file_without_its_sidecars(
    demo_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    import errno

    from baselines.io import atomic

    instantiate(demo_cfg("spll", *SPLL).synthetic)
    first = run(demo_cfg("spll", *SPLL, "trainer.max_epochs=1", "overwrite=true", output="job"))
    run_file = Path(first["run_file"])
    before = {p.name: p.read_bytes() for p in run_file.parent.iterdir()}
    real_open = Path.open

    def full_disk(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if failing in self.name and self.name.endswith(".tmp"):  # the write of that one file fails
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.Path, "open", full_disk)
    with pytest.raises(OSError, match=rf"cannot write .*spll.csv{failing}.* No space left on device"):
        run(demo_cfg("spll", *SPLL, "trainer.max_epochs=2", "overwrite=true", output="job"))
    # the previous run file and its sidecars are exactly as they were; nothing new, nothing half-written
    assert {p.name: p.read_bytes() for p in run_file.parent.iterdir()} == before


def test_without_a_previous_run_a_failed_commit_leaves_no_run_file(
    demo_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from baselines.io import atomic

    instantiate(demo_cfg("spll", *SPLL).synthetic)
    real_open = Path.open

    def full_disk(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if ".scores.json" in self.name and self.name.endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.Path, "open", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        run(demo_cfg("spll", *SPLL, "trainer.max_epochs=1", output="job"))
    assert sorted(p.name for p in (tmp_path / "job" / "runs").iterdir()) == []


@pytest.mark.parametrize(
    ("name", "separator"),
    [("drawnui", ";"), ("drawnui", ","), ("drawnui", " "), ("vqg", "|"), ("concepts", "\t")],
)
def test_an_image_name_holding_a_run_file_separator_is_refused_before_training(
    demo_cfg: Compose, monkeypatch: pytest.MonkeyPatch, name: str, separator: str
) -> None:
    from baselines.errors import FormatError

    tiny = (f"synthetic.n_train={4 if name == 'drawnui' else 8}", "synthetic.n_test=2")
    cfg = demo_cfg(name, *tiny)
    instantiate(cfg.synthetic)
    folder = Path(cfg.data.predict_images)
    image = next(p for p in sorted(folder.rglob("*")) if p.is_file())
    renamed = image.with_name(f"bad{separator}name{image.suffix}")
    image.rename(renamed)
    trained = []
    monkeypatch.setattr(pl.Trainer, "fit", lambda *a, **k: trained.append(1))
    with pytest.raises(FormatError) as refused:
        run(demo_cfg(name, *tiny))
    assert f"{renamed}: id " in str(refused.value) and f"contains {separator!r}" in str(refused.value)
    assert not trained


@pytest.mark.parametrize("prediction", ["debug=fast_dev_run", "trainer.max_epochs=1"], ids=["partial", "full"])
def test_a_run_that_fails_its_check_leaves_no_staging_file(
    demo_cfg: Compose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prediction: str
) -> None:
    from baselines.errors import FormatError
    from baselines.tasks import get_task

    instantiate(demo_cfg("spll", *SPLL).synthetic)

    def without_values(self: object, predictions: list[dict]) -> str:  # every line fails the grammar check
        return "".join(f"{p['id']}\n" for p in predictions)

    monkeypatch.setattr(type(get_task("spll")), "format_run", without_values)
    with pytest.raises(FormatError, match="1 values; expected 'participant_id,prediction'"):
        run(demo_cfg("spll", *SPLL, prediction, output="job"))
    assert sorted(p.name for p in (tmp_path / "job" / "runs").iterdir()) == []  # no run file, no .spll.csv.staged
