"""Self-describing checkpoints: what made them, read back safely.

Every checkpoint the pipeline saves carries a record (`RECORD_KEY`): the task, the Hydra overrides
that composed the run and the resolved config. `baselines predict ckpt_path=X` then needs no
experiment override: the stored overrides are composed again (through the local config tree) before
the user's own. Checkpoints are loaded with `weights_only=True`, so a pickle payload is refused, and
stored overrides that name a `_target_` outside `TRUSTED_TARGET_PREFIXES` are refused unless the user
passes `trust_checkpoint=true` (docs/security.md).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException

from baselines.runfiles.atomic import atomic_path

log = logging.getLogger(__name__)

RECORD_KEY = "baselines_record"
TRUSTED_TARGET_PREFIXES = (
    "baselines.",
    "torch.",
    "torchvision.",
    "timm.",
    "transformers.",
    "open_clip.",
    "monai.",
    "segmentation_models_pytorch.",
    "albumentations.",
    "lightning.",
)
# Stored overrides that belong to the training run, not to the model: never replayed at predict time.
_NOT_REPLAYED = ("ckpt_path", "train", "predict", "evaluate", "overwrite", "allow_untrained", "trust_checkpoint")
_NOT_REPLAYED_PREFIXES = ("hydra.", "paths.output_dir", "paths.log_dir", "evaluation.", "callbacks.run_file_writer.")
_TARGET = re.compile(r"_target_\W*[=:]\s*['\"]?([\w.]+)")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, untrusted content, or from another task or model."""


class CheckpointRecord(Callback):
    """Writes the run's record into every checkpoint it saves.

    Args:
        record: `task`, `overrides` (the composing Hydra overrides), `config` (resolved, plain data).
    """

    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = dict(record)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[RECORD_KEY] = self.record


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, through a temporary file and a rename: a crash or a full disk
    during a save leaves the previous checkpoint (e.g. last.ckpt) whole and loadable."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        with atomic_path(path) as temporary:
            super().save_checkpoint(checkpoint, temporary, storage_options)
            with temporary.open("rb") as handle:
                os.fsync(handle.fileno())


class Preemption(Callback):
    """SIGTERM (a cluster's preemption, `kill`, a job's time limit) saves a resumable last.ckpt.

    Lightning stops the loops on SIGTERM (SLURM's requeue signal is handled by Lightning itself); this
    saves the state reached into the run's checkpoint folder, so `ckpt_path=last` resumes from it.
    The pipeline then exits with status 143 and prints the command that resumes.

    Args:
        dirpath: The checkpoint folder (the model checkpoint callback's).
    """

    def __init__(self, dirpath: str | Path) -> None:
        self.dirpath = Path(dirpath)
        self.saved: Path | None = None

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException):
            self.saved = self.dirpath / "last.ckpt"
            trainer.save_checkpoint(self.saved)
            epoch, step = trainer.current_epoch, trainer.global_step
            log.warning("SIGTERM: saved %s at epoch %d, step %d", self.saved, epoch, step)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Loads a checkpoint with `weights_only=True` (tensors and plain data only; nothing is executed).

    Raises:
        CheckpointError: Naming the file, if it is missing, not a checkpoint, or holds other Python objects.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to load: besides tensors and plain data it holds Python objects, which run code "
            f"when unpickled ({str(exc).splitlines()[0]}). Never load such a file from someone else. If you made "
            'it yourself and trust it, re-save it with weights only: python -c "import torch; '
            f"torch.save(torch.load('{path}', weights_only=False), '{path.with_suffix('.safe.ckpt')}')\""
        ) from None
    except (RuntimeError, OSError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no state_dict)")
    return checkpoint


def read_record(path: str | Path) -> dict[str, Any] | None:
    """The record a checkpoint carries, or None for checkpoints saved without one."""
    record = load_checkpoint(path).get(RECORD_KEY)
    return dict(record) if isinstance(record, Mapping) else None


def override_key(override: str) -> str:
    """`+model.x=1` -> `model.x`; `experiment=spll` -> `experiment`."""
    return override.split("=", 1)[0].lstrip("+~")


def untrusted_targets(overrides: Sequence[str]) -> list[str]:
    """The `_target_` values named in overrides that lie outside TRUSTED_TARGET_PREFIXES."""
    targets = [m.group(1) for o in overrides for m in _TARGET.finditer(o)]
    targets += [o.split("=", 1)[1] for o in overrides if override_key(o).endswith("_target_") and "=" in o]
    return sorted({t for t in targets if not t.startswith(TRUSTED_TARGET_PREFIXES)})


def replayed_overrides(record: Mapping[str, Any], given: Sequence[str], trust: bool = False) -> list[str]:
    """The stored overrides to compose again before the user's own (which win on the same key).

    Raises:
        CheckpointError: If a stored override names an untrusted `_target_` and trust is False.
    """
    stored = [str(o) for o in record.get("overrides", [])]
    untrusted = untrusted_targets(stored)
    if untrusted and not trust:
        raise CheckpointError(
            f"the checkpoint's stored config names code outside the trusted packages: {', '.join(untrusted)}. "
            "Nothing was run. If you trust the person who made this checkpoint, add trust_checkpoint=true"
        )
    mine = {override_key(o) for o in given}
    return [
        o
        for o in stored
        if override_key(o) not in mine
        and override_key(o) not in _NOT_REPLAYED
        and not override_key(o).startswith(_NOT_REPLAYED_PREFIXES)
    ]


def with_checkpoint_overrides(argv: Sequence[str]) -> list[str]:
    """For `baselines predict ckpt_path=X ...` without `experiment=`: the checkpoint's overrides, then argv."""
    argv = list(argv)
    values = {override_key(a): a.split("=", 1)[1] for a in argv if "=" in a}
    checkpoint = values.get("ckpt_path")
    if not checkpoint or checkpoint in ("null", "last") or "experiment" in values:
        return argv
    record = read_record(checkpoint)
    if record is None:
        raise CheckpointError(
            f"{checkpoint} records no config (saved by another program or an older version): "
            "name the experiment and the overrides used in training, e.g. experiment=drawnui ..."
        )
    trust = values.get("trust_checkpoint", "false").lower() == "true"
    return [*replayed_overrides(record, argv, trust), *argv]


def last_checkpoint(checkpoint_dir: str | Path) -> Path:
    """`ckpt_path=last`: the last.ckpt of a run's checkpoint folder.

    Raises:
        CheckpointError: Naming the folder searched, if there is none.
    """
    path = Path(checkpoint_dir) / "last.ckpt"
    if not path.is_file():
        raise CheckpointError(
            f"ckpt_path=last: no last.ckpt in {Path(checkpoint_dir).resolve()}. Point at the run to resume with "
            "hydra.run.dir=<its folder> (or paths.output_dir=...), or give ckpt_path=<file>"
        )
    return path


def describe_mismatch(error: RuntimeError, checkpoint: str | Path, record: Mapping[str, Any] | None) -> str:
    """A short message for a state dict that does not fit the model built from the config."""
    text = str(error)
    counts = {
        kind: len(re.findall(r'"[^"]+"', m.group(1)))
        for kind in ("Missing key(s)", "Unexpected key(s)")
        if (m := re.search(re.escape(kind) + r" in state_dict: (.*?)(?:\.\s|$)", text, re.S))
    }
    shapes = len(re.findall(r"size mismatch for", text))
    parts = [f"{n} {kind.lower().replace('(s)', 's')}" for kind, n in counts.items() if n]
    if shapes:
        parts.append(f"{shapes} shape mismatches")
    trained = f" It was trained with: {' '.join(record.get('overrides', []))}." if record else ""
    return (
        f"checkpoint {checkpoint} does not fit the model this config builds ({', '.join(parts) or 'see below'}): "
        f"use the model settings it was trained with.{trained}\n{text.splitlines()[0]}"
    )
