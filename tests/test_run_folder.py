"""Run folders: one run per folder (a rerun resumes or starts over, never saves beside the old model), one process
at a time (a lock naming its PID), and Ctrl-C during training saves and says how to resume, as SIGTERM does."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import lightning.pytorch as pl
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.checkpoints import load_checkpoint, read_record
from baselines.cli import main
from baselines.config import config_dir
from baselines.pipeline import run
from baselines.runfolder import LOCK_NAME, RunFolder, RunLock, is_rank_zero
from tasks import KITS

Compose = Callable[..., DictConfig]
SPLL = (*KITS["spll"].tiny, "trainer.max_epochs=2")
TESTS = Path(__file__).resolve().parent


class CtrlCAt(pl.Callback):
    """Presses Ctrl-C (sends this process SIGINT) `times` times at one training batch (tests only)."""

    def __init__(self, epoch: int, batch: int, times: int = 1) -> None:
        self.epoch = epoch
        self.batch = batch
        self.times = times

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: object, batch_idx: int
    ) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def spll_data(demo_cfg: Compose, tmp_path: Path) -> list[str]:
    """The overrides of a tiny SPLL training whose data are under tmp_path."""
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    return ["experiment=spll", "+demo=spll", f"paths.root_dir={tmp_path}", *SPLL]


def _train(*argv: str) -> int:
    return main(["train", *argv])


def _refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        _train(*argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_rerun_never_saves_beside_the_old_model_it_resumes_or_starts_over(
    spll_data: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spll-a"
    here = f"hydra.run.dir={out}"
    assert _train(*spll_data, here, "seed=1") == 0
    first = _snapshot(out)
    capsys.readouterr()

    # a second training there is refused before Hydra writes anything: the first run is left as it was
    for extra in ((), ("overwrite=false",), ("ckpt_path=null",)):
        message = _refused(capsys, *spll_data, here, "seed=2", *extra)
        assert (
            f"{out} holds the checkpoints of another run (checkpoints/epoch_001.ckpt, checkpoints/last.ckpt)" in message
        )
        assert "\n  ckpt_path=last " in message and "\n  overwrite=true " in message
        assert _snapshot(out) == first  # .hydra/config.yaml, overrides.yaml, train.log, checkpoints, run file

    # overwrite=true: the old run is deleted first, so last.ckpt is the new model and nothing of the old is mixed in
    assert _train(*spll_data, here, "seed=2", "overwrite=true") == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch_001.ckpt", "last.ckpt"]
    assert read_record(out / "checkpoints" / "last.ckpt")["config"]["seed"] == 2  # type: ignore[index]
    assert yaml.safe_load((out / ".hydra" / "overrides.yaml").read_text())[-2:] == ["seed=2", "overwrite=true"]
    assert sorted(p.name for p in (out / "csv").iterdir()) == ["version_0"]  # not version_0 of the old run + 1
    log = (out / "train.log").read_text()
    assert log.startswith("[") and "overwrite=true: deleted the previous run's checkpoints/epoch_001.ckpt" in log
    assert log.count("spll scores:") == 1  # the first run's log lines are gone
    assert not (out / LOCK_NAME).exists()

    # ckpt_path=last resumes that run in place (overwrite=true then only replaces its run file)
    assert _train(*spll_data, here, "seed=2", "trainer.max_epochs=3", "ckpt_path=last", "overwrite=true") == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch_002.ckpt", "last.ckpt"]
    assert load_checkpoint(out / "checkpoints" / "last.ckpt")["epoch"] == 2

    # a prediction in the folder (overwrite=true replaces the run file) leaves the training's checkpoints alone
    checkpoints = _snapshot(out / "checkpoints")
    argv = ["predict", f"ckpt_path={out}/checkpoints/last.ckpt", f"paths.root_dir={tmp_path}", here, "overwrite=true"]
    assert main(argv) == 0
    assert _snapshot(out / "checkpoints") == checkpoints


@pytest.fixture
def held_lock(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A run folder whose lock another live process holds: (the folder, its PID)."""
    folder = tmp_path / "busy"
    code = (
        "import sys, time\nfrom baselines.runfolder import RunLock\n"
        f"RunLock({str(folder)!r}).acquire()\nprint('held', flush=True)\ntime.sleep(120)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield folder, holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_second_process_in_a_run_folder_is_refused_at_once_naming_the_pid(
    spll_data: list[str], held_lock: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, pid = held_lock
    (folder / ".hydra").mkdir()
    (folder / ".hydra" / "config.yaml").write_text("seed: 1\n")  # the running run's
    before = _snapshot(folder)
    message = _refused(capsys, *spll_data, f"hydra.run.dir={folder}", "seed=2", "overwrite=true")
    assert f"{folder} is in use by PID {pid} " in message and "nothing was written" in message
    assert _snapshot(folder) == before  # no .hydra/ rewritten, no train.log, no checkpoints: it never started


def test_other_ranks_share_rank_zeros_folder_and_lock(
    held_lock: tuple[Path, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, pid = held_lock
    with initialize_config_dir(str(config_dir()), version_base="1.3"):  # as Hydra gives it to a multirun job
        overrides = ["experiment=spll", f"paths.output_dir={folder}", "hydra.mode=MULTIRUN"]
        config = compose("train", overrides=overrides, return_hydra_config=True)
    for name in ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)
    assert is_rank_zero()
    with pytest.raises(SystemExit):
        RunFolder().on_job_start(config)  # as a multirun job: the folder is in use
    assert f"in use by PID {pid}" in capsys.readouterr().err
    # Lightning's DDP ranks re-run the command with LOCAL_RANK set; SLURM's other tasks have SLURM_PROCID
    for name, value in (("LOCAL_RANK", "1"), ("SLURM_PROCID", "3"), ("NODE_RANK", "1")):
        monkeypatch.setenv(name, value)
        assert not is_rank_zero()
        RunFolder().on_job_start(config)  # not refused
        monkeypatch.delenv(name)


def test_a_lock_is_gone_once_released_and_taken_back_from_an_earlier_run_of_this_process(tmp_path: Path) -> None:
    first = RunLock(tmp_path)
    assert first.acquire() is None
    assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()} {os.uname().nodename}\n"
    # a run that ended in an exit Hydra did not see (SIGTERM, Ctrl-C) never released it: the next run here takes it
    second = RunLock(tmp_path)
    assert second.acquire() is None and second.held and not first.held
    second.release()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_stale_lock_left_by_a_dead_process_is_taken_over_with_a_warning(spll_data: list[str], tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "stale"
    folder.mkdir()
    (folder / LOCK_NAME).write_text(f"{dead.pid} {os.uname().nodename}\n")
    assert _train(*spll_data, f"hydra.run.dir={folder}", "trainer.max_epochs=1", "predict=false") == 0
    assert (
        f"took over the stale lock of {folder}: PID {dead.pid} on {os.uname().nodename} is no longer running"
        in (folder / "train.log").read_text()
    )
    assert (folder / "checkpoints" / "last.ckpt").is_file() and not (folder / LOCK_NAME).exists()


def test_ctrl_c_saves_a_resumable_checkpoint_exits_130_and_says_how_to_resume(
    demo_cfg: Compose, spll_data: list[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    overrides = [*spll_data, f"paths.output_dir={tmp_path}/job"]
    ctrl_c = "+callbacks.ctrl_c={_target_: test_run_folder.CtrlCAt, epoch: 1, batch: 0}"
    handler = signal.getsignal(signal.SIGINT)
    with caplog.at_level(logging.WARNING), pytest.raises(SystemExit) as stopped:
        run(demo_cfg("spll", *SPLL, ctrl_c, output="job"), overrides)
    assert stopped.value.code == 130  # 128 + SIGINT, as a shell reports a process stopped by Ctrl-C
    assert signal.getsignal(signal.SIGINT) is handler  # given back
    last = tmp_path / "job" / "checkpoints" / "last.ckpt"
    assert load_checkpoint(last)["global_step"] == 2  # at the end of the batch where Ctrl-C came, not epoch 0's
    assert "Ctrl-C: stopping at the end of this batch" in caplog.text
    assert f"Ctrl-C: training stopped and {last} was saved. Resume with:\n" in caplog.text
    assert f"baselines train {' '.join(overrides)} ckpt_path=last" in caplog.text
    assert not (tmp_path / "job" / "runs" / "spll.csv").exists()  # no run file from a stopped training
    resumed = run(demo_cfg("spll", *SPLL, "ckpt_path=last", output="job"), overrides)
    assert Path(resumed["run_file"]).is_file()


@pytest.mark.slow
def test_ctrl_c_twice_stops_at_once_and_points_at_the_last_saved_checkpoint(
    spll_data: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "job"
    ctrl_c = "+callbacks.ctrl_c={_target_: test_run_folder.CtrlCAt, epoch: 1, batch: 0, times: 2}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path]), "OMP_NUM_THREADS": "1"}
    argv = [*spll_data, ctrl_c, f"hydra.run.dir={out}"]
    done = subprocess.run(
        [sys.executable, "-m", "baselines.cli", "train", *argv], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 130, done.stderr[-2000:]
    last = out / "checkpoints" / "last.ckpt"
    said = done.stdout + done.stderr
    assert f"Ctrl-C: training stopped without a save at that point; the last checkpoint saved is {last}" in said
    assert "ckpt_path=last" in said.split("Resume with:\n", 1)[1].splitlines()[0]
    assert load_checkpoint(last)["global_step"] == 1  # epoch 0's, saved by the checkpoint callback
    assert not (out / "runs" / "spll.csv").exists() and not (out / LOCK_NAME).exists()


def test_last_ckpt_is_the_last_epoch_even_when_it_did_not_improve(demo_cfg: Compose, tmp_path: Path) -> None:
    # lr=0: val/mae never improves after epoch 0, so only epoch 0 is a best checkpoint; last.ckpt (what
    # ckpt_path=last resumes from) must still be epoch 2's, and the best one epoch 0's
    tiny = (*SPLL[:2], "trainer.max_epochs=3", "model.optim.optimizer.lr=0")
    instantiate(demo_cfg("spll", *tiny).synthetic)
    summary = run(demo_cfg("spll", *tiny))
    folder = tmp_path / "out" / "checkpoints"
    assert load_checkpoint(folder / "last.ckpt")["epoch"] == 2
    assert Path(summary["checkpoint"]).name == "epoch_000.ckpt"
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_000.ckpt", "last.ckpt"]


def test_a_prediction_onto_an_existing_run_file_is_refused_before_hydra_rewrites_the_folder(
    spll_data: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the run-file writer refused it, but only inside the job: a traceback, exit status 1, and .hydra/ of the run
    # that wrote the file replaced by the refused command's
    out = tmp_path / "spll-p"
    assert _train(*spll_data, f"hydra.run.dir={out}") == 0
    before = _snapshot(out)
    capsys.readouterr()
    argv = ["predict", f"ckpt_path={out}/checkpoints/last.ckpt", f"paths.root_dir={tmp_path}", f"hydra.run.dir={out}"]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert f"error: {out}/runs/spll.csv exists; set overwrite=true to replace it" in capsys.readouterr().err
    assert _snapshot(out) == before
