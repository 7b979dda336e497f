"""One run per run folder, one process at a time: a Hydra callback that guards the folder before Hydra writes to it.

A rerun into a folder that holds another run's checkpoints would be saved beside them (`last-v1.ckpt`), leaving
the old model as `last.ckpt` for `predict ckpt_path=.../last.ckpt`; two processes in one folder would mix
checkpoints, logs and `.hydra/`. `RunFolder` (configs/hydra/default.yaml) therefore, before a run starts:

1. locks the output folder (`<folder>/.lock`, holding the PID and host), refusing at once while another live
   process holds it; a lock left by a process that died is taken over with a warning;
2. refuses a training there that is neither a resume (`ckpt_path=last`, a checkpoint of that folder, or
   Lightning's SLURM requeue checkpoint `hpc_ckpt_*.ckpt`) nor asked to start over (`overwrite=true`);
3. with `overwrite=true` (and not resuming), deletes the old run's checkpoints, logs, summary and run file;
4. refuses a run that would write a run file where one exists, unless `overwrite=true`.

It acts in `on_run_start`, before Hydra writes `.hydra/` and opens `train.log`, so a refused rerun leaves the old
run untouched. In a multirun (sweeps) it acts in `on_job_start`, once Hydra has made the job's own folder.
Processes that are not rank 0 (Lightning's DDP ranks re-running the command, other SLURM tasks of the job) share
rank 0's folder and lock and are let through.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import shutil
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
# Files of a run (globs, relative to its output folder) besides those the config names (checkpoints, run file,
# logger folders, Hydra's job log): `overwrite=true` deletes them with the old run, so nothing of it is mixed in.
RUN_OUTPUTS: tuple[str, ...] = ("summary.json", "results.png", "per_class.csv", "val_pred_*.png")
# The locks this process holds, by lock file: one left by a run that ended in an exit is taken back by the next.
_HELD: dict[Path, RunLock] = {}
# Environment variables that name a process's rank: anything but 0 is a helper of rank 0's run, in its folder.
_RANK_VARIABLES = ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID")


class RunFolderError(RuntimeError):
    """A run folder that this run may not use: in use by another process, or holding another run."""


def is_rank_zero(environ: Any = None) -> bool:
    """Whether this process starts a run, not a rank re-running the command in rank 0's folder (DDP, SLURM tasks)."""
    environ = os.environ if environ is None else environ
    return all(environ.get(name, "0") in ("", "0") for name in _RANK_VARIABLES)


class RunLock:
    """An exclusive lock on a folder: `flock` on `<folder>/.lock`, which holds the holder's `PID host`.

    The kernel drops the lock when its process dies, however it dies; the PID in the file only names the holder
    in messages (and says that a leftover file came from a process that died).

    Args:
        folder: The folder to lock (made if missing).
    """

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> str | None:
        """Takes the lock.

        Returns:
            None, or a warning naming the process that left the lock behind when it died.

        Raises:
            RunFolderError: Naming the PID (and host) of the live process that holds it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        earlier = _HELD.get(self.path.resolve())
        if earlier is not None:  # a run of this process that ended by an exit Hydra did not see (SIGTERM, Ctrl-C)
            earlier.release()
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fd)
                os.close(fd)
                raise RunFolderError(_in_use(self.path.parent, holder)) from None
            # The holder unlinks the file when it lets go: the file locked must still be the one at the path.
            with contextlib.suppress(FileNotFoundError):
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    break
            os.close(fd)
        previous = _read(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self._fd = fd
        _HELD[self.path.resolve()] = self
        atexit.register(self.release)  # a run ended by SystemExit (SIGTERM, Ctrl-C) leaves no lock behind
        if not previous:
            return None
        pid, _, host = previous.partition(" ")
        gone = host == socket.gethostname() and not _running(pid)
        return f"took over the stale lock of {self.path.parent}: PID {pid} on {host or '?'} " + (
            "is no longer running" if gone else "no longer holds it"
        )

    def release(self) -> None:
        """Lets go of the lock and deletes the file (nothing if not held)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        _HELD.pop(self.path.resolve(), None)
        atexit.unregister(self.release)


def _running(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode(errors="replace").strip()


def _in_use(folder: Path, holder: str) -> str:
    pid, _, host = holder.partition(" ")
    who = f"PID {pid}" + (f" on {host}" if host and host != socket.gethostname() else "") if pid else "another process"
    return (
        f"error: {folder} is in use by {who} (a training or prediction running there): nothing was written. "
        f"Wait for it to end, stop it, or give this run another folder (hydra.run.dir=...)"
    )


@dataclass
class RunPaths:
    """Where a run writes, resolved from its config; None where the config has no such output."""

    output: Path
    checkpoints: Path | None = None
    root: Path | None = None
    run_file: Path | None = None
    job_log: Path | None = None
    loggers: list[Path] = field(default_factory=list)

    def checkpoint_files(self) -> list[Path]:
        found = sorted(self.checkpoints.glob("*.ckpt")) if self.checkpoints and self.checkpoints.is_dir() else []
        return found + self.requeue_files()

    def requeue_files(self) -> list[Path]:
        return sorted(self.root.glob("hpc_ckpt_*.ckpt")) if self.root and self.root.is_dir() else []

    def old_outputs(self) -> list[Path]:
        """What a run left in the folder that a new run would mix with its own, inside the folder only."""
        found = self.checkpoint_files()
        if self.checkpoints and self.checkpoints.is_dir():
            found += sorted(self.checkpoints.glob("*.tmp"))  # an interrupted atomic save
        if self.run_file and self.run_file.parent.is_dir():  # the run file and its sidecars (<name>.*)
            found += sorted(p for p in self.run_file.parent.iterdir() if p.name.startswith(self.run_file.name))
        found += [p for p in (*self.loggers, self.job_log) if p is not None and p.exists()]
        found += [p for pattern in RUN_OUTPUTS for p in sorted(self.output.glob(pattern))]
        inside = self.output.resolve()
        return [p for p in dict.fromkeys(found) if p.resolve() != inside and p.resolve().is_relative_to(inside)]


def _path(config: DictConfig, key: str) -> Path | None:
    try:
        value = OmegaConf.select(config, key)
    except OmegaConfBaseException:
        return None
    return Path(str(value)).absolute() if isinstance(value, str) and value else None


def _replaces_run_file(config: DictConfig) -> bool:
    """The run-file writer's own `overwrite` (`${overwrite}` unless set apart)."""
    try:
        return bool(OmegaConf.select(config, "callbacks.run_file_writer.overwrite", default=config.get("overwrite")))
    except OmegaConfBaseException:
        return bool(config.get("overwrite"))


def run_paths(config: DictConfig) -> RunPaths | None:
    """The paths of the run a Hydra config describes (with `hydra.runtime.output_dir` set), or None if its
    output folder does not resolve (Hydra then reports the config error itself)."""
    output = _path(config, "paths.output_dir")
    if output is None:
        return None
    loggers = []
    for name, node in (config.get("logger") or {}).items():
        save_dir, folder = _path(config, f"logger.{name}.save_dir"), OmegaConf.select(node, "name", default=None)
        if save_dir is not None and isinstance(folder, str) and folder:
            loggers.append(save_dir / folder)  # csv/, tensorboard/: Lightning would add a version_<n+1> beside
    job = OmegaConf.select(config, "hydra.job.name", default=None)
    runtime = _path(config, "hydra.runtime.output_dir")
    return RunPaths(
        output=output,
        checkpoints=_path(config, "callbacks.model_checkpoint.dirpath"),
        root=_path(config, "trainer.default_root_dir"),
        run_file=_path(config, "callbacks.run_file_writer.output_path"),
        job_log=runtime / f"{job}.log" if runtime is not None and job else None,
        loggers=loggers,
    )


def _resumes(config: DictConfig, paths: RunPaths) -> bool:
    """Whether the run goes on from a checkpoint of this folder rather than starting anew."""
    checkpoint = config.get("ckpt_path")
    if checkpoint == "last" or (checkpoint is None and paths.requeue_files()):  # Lightning resumes from hpc_ckpt
        return True
    if not isinstance(checkpoint, str):
        return False
    return paths.checkpoints is not None and Path(checkpoint).resolve().is_relative_to(paths.checkpoints.resolve())


def _holds_another_run(paths: RunPaths, found: list[Path]) -> str:
    shown = ", ".join(str(p.relative_to(paths.output)) if p.is_relative_to(paths.output) else str(p) for p in found)
    return (
        f"error: {paths.output} holds the checkpoints of another run ({shown}): a new training there would be "
        "saved beside them and leave last.ckpt the old model. Nothing was written. Add one of:\n"
        "  ckpt_path=last    to resume that run from its last.ckpt\n"
        "  overwrite=true    to delete that run's checkpoints, logs, summary and run file, and train anew\n"
        "or give this run another folder (hydra.run.dir=...)"
    )


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _multirun(config: DictConfig) -> bool:
    return bool(OmegaConf.select(config, "hydra.mode") == RunMode.MULTIRUN)


class RunFolder(Callback):
    """Hydra callback: locks the run's output folder and keeps runs apart in it (see the module docstring)."""

    def __init__(self) -> None:
        self._lock: RunLock | None = None
        self._notes: list[str] = []

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            run_dir = OmegaConf.select(config, "hydra.run.dir")
        except OmegaConfBaseException:
            return  # Hydra reports the config error when it starts the job
        # As Hydra's run_job does next (same value: `${now:}` is cached), so that `${hydra:runtime.output_dir}`,
        # which the output paths are made of, resolves already.
        with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
            config.hydra.runtime.output_dir = os.path.abspath(str(run_dir))
        before = HydraConfig.instance().cfg
        HydraConfig.instance().set_config(config)
        try:
            self._guard(config)
        finally:
            HydraConfig.instance().cfg = before  # run_job sets it again; nothing of it may outlive the run

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if _multirun(config):  # each job its own folder, made by Hydra for it
            self._guard(config)
        for note in self._notes:  # now that the job's log (console, train.log) is set up
            log.warning(note)
        self._notes = []

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if _multirun(config):
            self._release()

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _guard(self, config: DictConfig) -> None:
        try:
            self._check(config)
        except RunFolderError as exc:
            # Hydra turns a callback's exceptions into warnings and goes on: only an exit stops the run here.
            print(exc, file=sys.stderr)
            raise SystemExit(2) from None

    def _check(self, config: DictConfig) -> None:
        paths = run_paths(config)
        if paths is None or not is_rank_zero():
            return
        lock = RunLock(paths.output)
        note = lock.acquire()
        try:
            if config.get("train") and not _resumes(config, paths):
                found = paths.checkpoint_files()
                if found and not config.get("overwrite"):
                    raise RunFolderError(_holds_another_run(paths, found))
                if config.get("overwrite"):
                    old = paths.old_outputs()
                    for path in old:
                        _delete(path)
                    if old:
                        names = ", ".join(str(p.relative_to(paths.output)) for p in old)
                        self._notes.append(f"overwrite=true: deleted the previous run's {names} in {paths.output}")
            if config.get("predict") and paths.run_file and paths.run_file.exists() and not _replaces_run_file(config):
                # the writer would refuse it only after Hydra had rewritten .hydra/ of the run that wrote the file
                raise RunFolderError(
                    f"error: {paths.run_file} exists; set overwrite=true to replace it (nothing was written)"
                )
        except BaseException:
            lock.release()
            raise
        self._lock = lock
        if note:
            self._notes.insert(0, note)
