"""Self-describing checkpoints: what made them, read back safely.

Every checkpoint the pipeline saves carries a record (`RECORD_KEY`): the task, the Hydra overrides
that composed the run and the resolved config. `baselines predict ckpt_path=X` then needs no
experiment override: the stored overrides are composed again (through the local config tree) before
the user's own. Checkpoints are loaded with `weights_only=True`, so a pickle payload is refused.

A checkpoint is data, not a program (as a Hugging Face `config.json` names an architecture that a registry maps
to a class): its stored overrides may name the experiment and other files of the local config tree by plain name,
and set plain values (numbers, strings, booleans, lists of them) of the model and its input. Any `_target_`,
interpolation or resolver, whole config node, deletion, or group value outside the local tree is refused; the
run's own paths and outputs are the user's and never replayed (`vet_override`). The config they compose may then
name only the `_target_`s of the project's own configs (`KNOWN_TARGETS`), checked before anything is
instantiated. `trust_checkpoint=true` replays a trusted checkpoint's overrides unchecked (docs/security.md).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import shlex
import signal
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, ListConfig, OmegaConf

from baselines.io.atomic import atomic_path
from baselines.text.packed import TOKENIZER_KEY, PackedTokenizer, PackedTokenizerError, carried_tokenizer

log = logging.getLogger(__name__)

RECORD_KEY = "baselines_record"
# Every `_target_` the project's own configs (configs/) name, exactly: a config composed for a checkpoint may
# instantiate these and nothing else (tests/test_checkpoints.py checks the list against configs/).
KNOWN_TARGETS = frozenset(
    {
        "albumentations.Affine",
        "albumentations.HorizontalFlip",
        "albumentations.HueSaturationValue",
        "albumentations.RandomBrightnessContrast",
        "albumentations.VerticalFlip",
        "baselines.callbacks.EpochSummary",
        "baselines.callbacks.OverlayImages",
        "baselines.data.base.Loader",
        "baselines.data.coral.read_coral_records",
        "baselines.data.detection.DetectionDataModule",
        "baselines.data.detection.read_grouped_records",
        "baselines.data.lifelog.LifelogDataModule",
        "baselines.data.medcaption.MedicalCaptionDataModule",
        "baselines.data.segmentation.SegmentationDataModule",
        "baselines.synthetic.coral.generate",
        "baselines.synthetic.drawnui.generate",
        "baselines.synthetic.lifelog.generate",
        "baselines.synthetic.medcaption.generate",
        "baselines.synthetic.spll.generate",
        "baselines.synthetic.tuberculosis.generate",
        "baselines.synthetic.vqamed.generate",
        "baselines.data.tabular.TabularDataModule",
        "baselines.data.tuberculosis.TuberculosisDataModule",
        "baselines.data.vqamed.VQAMedDataModule",
        "baselines.models.nets.captioners.vision_encoder_decoder",
        "baselines.models.nets.regressors.mlp",
        "baselines.models.nets.text_encoders.bert_encoder",
        "baselines.models.nets.volume_classifiers.monai_classifier",
        "baselines.models.base.Optim",
        "baselines.models.captioning.CaptioningModule",
        "baselines.models.detection.DetectionModule",
        "baselines.models.nets.detectors.faster_rcnn",
        "baselines.models.nets.detectors.torchvision_faster_rcnn",
        "baselines.models.multilabel.MultiLabelModule",
        "baselines.models.retrieval.RetrievalModule",
        "baselines.models.segmentation.SegmentationModule",
        "baselines.models.nets.segmenters.smp_model",
        "baselines.models.tabular.TabularRegressionModule",
        "baselines.models.tta.TTA",
        "baselines.models.volume.VolumeClassificationModule",
        "baselines.models.vqa.VQAModule",
        "baselines.models.weights.create_timm",
        "baselines.retrieval.ann.IndexSettings",
        "baselines.runfiles.writer.RunFileWriter",
        "baselines.runfolder.RunFolder",
        "hydra.utils.get_class",
        "lightning.pytorch.Trainer",
        "lightning.pytorch.callbacks.EarlyStopping",
        "lightning.pytorch.callbacks.LearningRateMonitor",
        "lightning.pytorch.callbacks.ModelCheckpoint",
        "lightning.pytorch.loggers.CSVLogger",
        "lightning.pytorch.loggers.MLFlowLogger",
        "lightning.pytorch.loggers.TensorBoardLogger",
        "lightning.pytorch.loggers.WandbLogger",
        "lightning.pytorch.strategies.FSDPStrategy",
        "torch.distributed.fsdp.wrap.ModuleWrapPolicy",
        "torch.optim.AdamW",
        "torch.optim.SGD",
        "torch.optim.lr_scheduler.CosineAnnealingLR",
    }
)
# Stored overrides that belong to the training run, not to the model: never replayed at predict time.
_RUN_FLAGS = ("ckpt_path", "train", "predict", "evaluate", "overwrite", "allow_untrained", "trust_checkpoint")
# The run's own environment, outputs and inputs: the user's, never the checkpoint's. A checkpoint records them apart
# (`run_overrides`, never replayed); found among its replayed `overrides`, they are refused like any forgery.
_RUN_ROOTS = ("paths", "hydra", "logger", "callbacks", "evaluation", "debug", "hparams_search")
# What a checkpoint may set: the model, its input and how it runs (leaf values under these roots) ...
_REPLAYED_ROOTS = ("model", "data", "synthetic", "trainer", "seed")
# ... and which of the local config tree's files compose it (`experiment=spll`, `+demo=spll`, `trainer=gpu`).
_REPLAYED_GROUPS = ("experiment", "model", "data", "demo", "trainer")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_KEY_PART = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_PATH_WORDS = ("dir", "file", "path")


RUN_OWN = "the run's own path, output or flag: where a run reads and writes is the user's to give, never a checkpoint's"


def record_overrides(overrides: Sequence[str]) -> dict[str, list[str]]:
    """A run's overrides as its checkpoints record them: `overrides`, the ones a prediction from the checkpoint
    replays (each passes `vet_override`), and `run_overrides`, the rest (paths, outputs, flags, expressions),
    kept for the record and never replayed."""
    replayed = [str(o) for o in overrides if vet_override(str(o)) is None]
    return {"overrides": replayed, "run_overrides": [str(o) for o in overrides if str(o) not in replayed]}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, untrusted content, or from another task or model."""


class CheckpointRecord(Callback):
    """Writes the run's record, and the model's local tokenizer, into every checkpoint it saves.

    Args:
        record: `task`, `overrides` (the composing Hydra overrides), `config` (resolved, plain data).
        tokenizer: The files of the local tokenizer folder the model was built with (baselines.text.packed),
            carried so that predicting needs no folder besides the checkpoint.
    """

    def __init__(self, record: Mapping[str, Any], tokenizer: PackedTokenizer | None = None) -> None:
        self.record = dict(record)
        self.tokenizer = tokenizer

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[RECORD_KEY] = self.record
        if self.tokenizer is not None:
            checkpoint[TOKENIZER_KEY] = self.tokenizer.to_data()


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, through a temporary file and a rename: a crash or a full disk
    during a save leaves the previous checkpoint (e.g. last.ckpt) whole and loadable."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        with atomic_path(path) as temporary:
            super().save_checkpoint(checkpoint, temporary, storage_options)
            with temporary.open("rb") as handle:
                os.fsync(handle.fileno())


class Preemption(Callback):
    """SIGTERM (a cluster's preemption, `kill`, a job's time limit) or Ctrl-C saves a resumable last.ckpt.

    Lightning stops the loops on SIGTERM at the end of a batch (on every DDP rank; SLURM's requeue signal is
    handled by Lightning itself); this saves the state reached into the run's checkpoint folder, so
    `ckpt_path=last` resumes from it. Ctrl-C during training takes the same way: the first is handed to
    Lightning's SIGTERM handler (a KeyboardInterrupt would stop anywhere, mid optimizer step, where the state is
    not worth saving); a second one stops at once, saving nothing. The pipeline then exits with 143 (SIGTERM) or
    130 (Ctrl-C) and prints the command that resumes (`report`).

    Args:
        dirpath: The checkpoint folder (the model checkpoint callback's); None: nothing is saved.
    """

    def __init__(self, dirpath: str | Path | None) -> None:
        self.dirpath = Path(dirpath) if dirpath else None
        self.saved: Path | None = None
        self.signal: str | None = None  # what stopped training: "SIGTERM" or "Ctrl-C"
        self._sigint: Any = None  # the SIGINT handler replaced while training

    @property
    def exit_code(self) -> int:
        """128 + the signal, as a process killed by it reports."""
        return 128 + (signal.SIGINT if self.signal == "Ctrl-C" else signal.SIGTERM)

    def on_sanity_check_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._catch_ctrl_c()  # Lightning's SIGTERM handler is in place from here on

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._catch_ctrl_c()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore_ctrl_c()

    def _catch_ctrl_c(self) -> None:
        if self._sigint is None and threading.current_thread() is threading.main_thread():
            self._sigint = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._on_ctrl_c)

    def _restore_ctrl_c(self) -> None:
        if self._sigint is not None:
            signal.signal(signal.SIGINT, self._sigint)
            self._sigint = None

    def _on_ctrl_c(self, signum: int, frame: FrameType | None) -> None:
        sigterm = signal.getsignal(signal.SIGTERM)
        if self.signal is not None or not callable(sigterm):
            raise KeyboardInterrupt  # the second Ctrl-C: Lightning stops here and now
        self.signal = "Ctrl-C"
        log.warning("Ctrl-C: stopping at the end of this batch to save last.ckpt (Ctrl-C again: stop now, unsaved)")
        sigterm(signal.SIGTERM, frame)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self.signal = "Ctrl-C"  # Lightning ignores SIGINT from now on, while it shuts down
            self._sigint = None
            return
        self._restore_ctrl_c()
        if isinstance(exception, SIGTERMException):
            self.signal = self.signal or "SIGTERM"
            if self.dirpath is not None:
                self.saved = self.dirpath / "last.ckpt"
                trainer.save_checkpoint(self.saved)
                epoch, step = trainer.current_epoch, trainer.global_step
                log.warning("%s: saved %s at epoch %d, step %d", self.signal, self.saved, epoch, step)

    def report(self, overrides: Sequence[str], output_dir: str | Path) -> int:
        """Logs how training stopped and the command that resumes it, and returns the exit code."""
        last = self.dirpath / "last.ckpt" if self.dirpath is not None else None
        if self.saved is not None:
            what = f"training stopped and {self.saved} was saved"
        elif last is not None and last.is_file():
            what = f"training stopped without a save at that point; the last checkpoint saved is {last}"
        else:
            log.error("%s: training stopped; nothing was saved to resume from (run the command again)", self.signal)
            return self.exit_code
        again = [o for o in overrides if override_key(o) not in ("ckpt_path", "hydra.run.dir")]
        if not any(override_key(o) == "paths.output_dir" for o in overrides):
            again.append(f"hydra.run.dir={output_dir}")
        command = shlex.join(["baselines", "train", *again, "ckpt_path=last"])  # to paste into a shell
        log.error("%s: %s. Resume with:\n  %s", self.signal, what, command)
        return self.exit_code


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


def check_checkpoint_task(checkpoint: str | Path, task: str) -> dict[str, Any] | None:
    """The record of the checkpoint a run of `task` starts from, refused if it was saved by another task.

    Raises:
        CheckpointError: Naming the file, if it is missing or unreadable (`load_checkpoint`), or its task and
            what to give instead.
    """
    record = read_record(checkpoint)
    if record is not None and record.get("task") != task:
        raise CheckpointError(
            f"checkpoint {checkpoint} is from {record.get('task')}, not {task}: "
            f"give a {task} checkpoint, or drop experiment= to run {record.get('task')} from it"
        )
    return record


def read_tokenizer(path: str | Path) -> PackedTokenizer | None:
    """The tokenizer files a checkpoint carries, checked as data (baselines.text.packed); None if it carries none.

    Raises:
        CheckpointError: Naming the file and what is wrong with its tokenizer entry.
    """
    try:
        return carried_tokenizer(load_checkpoint(path))
    except PackedTokenizerError as exc:
        raise CheckpointError(
            f"{path}: its tokenizer entry is refused: {exc}. Nothing was run, read or written"
        ) from None


def override_key(override: str) -> str:
    """`+model.x=1` -> `model.x`; `experiment=spll` -> `experiment`."""
    return override.split("=", 1)[0].lstrip("+~")


def _plain(value: Any) -> bool:
    """A number, a string without interpolation, a boolean, None, or a list of them: data, not config."""
    if isinstance(value, list):
        return all(_plain(item) and not isinstance(item, list) for item in value)
    if isinstance(value, str):
        return "${" not in value
    return value is None or isinstance(value, bool | int | float)


def _targets(value: Any) -> list[str]:
    """The `_target_` values inside a parsed override value (a dict or a list of dicts)."""
    if isinstance(value, dict):
        found = [str(value["_target_"])] if "_target_" in value else []
        return found + [t for item in value.values() for t in _targets(item)]
    if isinstance(value, list):
        return [t for item in value for t in _targets(item)]
    return []


def vet_override(override: str) -> str | None:
    """What one override stored in a checkpoint would do if replayed, checked as data.

    Returns:
        None when it may be replayed (a plain model or input value, or a plain local config file), `RUN_OWN` when it
        is the run's own setting (outputs, paths, flags: the user's, never the checkpoint's), else why it is refused.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType
    from hydra.errors import HydraException

    if "${" in override:
        return "an interpolation or resolver (${...}): a checkpoint holds values, not expressions"
    try:
        parsed = OverridesParser.create().parse_override(override)
    except HydraException as exc:
        return f"not a Hydra override ({str(exc).splitlines()[0]})"
    key, value = parsed.key_or_group, parsed.value()
    targets = _targets(value) + ([str(value)] if key.split(".")[-1] == "_target_" else [])
    if targets:
        return f"a _target_ in a checkpoint is code outside the trusted packages: {', '.join(targets)}"
    if "_target_" in override:
        return "names a _target_: a checkpoint may not name code"
    if parsed.type == OverrideType.DEL:
        return "deletes a config key"
    if parsed.is_sweep_override() or parsed.package is not None or "/" in key:
        return "a sweep, a package or a nested group: not a plain value"
    parts = key.split(".")
    if not all(_KEY_PART.fullmatch(part) for part in parts):
        return f"the key {key!r} is not a plain config key (letters, digits, _)"
    if isinstance(value, dict):
        return "sets a whole config node: a checkpoint holds plain values only"
    if not _plain(value):
        return "not a plain value (a number, a string, a boolean, or a list of them)"
    root = parts[0]
    if key in _RUN_FLAGS or root in _RUN_ROOTS:
        if len(parts) == 1 and root not in _RUN_FLAGS and not (isinstance(value, str) and _is_local(root, value)):
            return f"{root}={value!r} is not a file of the local config tree"
        return RUN_OWN
    if len(parts) == 1:
        if root in _REPLAYED_GROUPS:
            return (
                None
                if isinstance(value, str) and _is_local(root, value)
                else (f"{root}={value!r} is not a plain name of the local configs/{root}/")
            )
        if root != "seed":
            return f"{key} is not a model or input setting"
    elif root not in _REPLAYED_ROOTS:
        return f"{key} is not a model or input setting"
    if any(word in part.lower() for part in parts for word in _PATH_WORDS):
        return RUN_OWN  # a file or folder of the run: the user's to give, never the checkpoint's
    return None


def _is_local(group: str, name: str) -> bool:
    from baselines.config import config_dir

    return bool(_PLAIN_NAME.fullmatch(name)) and (config_dir() / group / f"{name}.yaml").is_file()


def replayed_overrides(record: Mapping[str, Any], given: Sequence[str], trust: bool = False) -> list[str]:
    """The stored overrides to compose again before the user's own (which win on the same key).

    Each is checked as data (`vet_override`): the experiment and the plain values that define the model and
    its input are replayed; anything else is refused, the run's own settings (where it writes, what it reads)
    included: a checkpoint records those apart (`record_overrides`). With `trust`, every stored override is
    replayed unchecked, the recorded run's own settings included.

    Raises:
        CheckpointError: Naming each refused override and why, when trust is False.
    """
    from baselines.config import moved_override

    stored = [str(o) for o in record.get("overrides", [])]
    # a checkpoint made before a key moved into a shared settings node (data.batch_size) replays it the new way;
    # a refusal quotes the override as the checkpoint holds it
    moved = {o: moved_override(o) for o in stored}
    mine = {override_key(moved_override(o)) for o in given}
    if trust:  # the run's own paths too, as it was trained
        stored = [moved_override(o) for o in [*stored, *map(str, record.get("run_overrides", []))]]
        return [o for o in stored if override_key(o) not in mine and override_key(o) not in _RUN_FLAGS]
    verdicts = {o: vet_override(moved[o]) for o in stored}
    refused = [f"{_quote(o)}: {why}" for o, why in verdicts.items() if why is not None]
    if refused:
        raise CheckpointError(
            "the checkpoint's stored config is refused; nothing was run, read or written:\n  "
            + "\n  ".join(refused)
            + "\nA checkpoint may name its experiment and plain model and input values only. If you trust the "
            "person who made it, add trust_checkpoint=true"
        )
    if not any(override_key(o) == "experiment" and why is None for o, why in verdicts.items()):
        raise CheckpointError("the checkpoint's stored config names no experiment: give experiment=<name>")
    return [moved[o] for o, why in verdicts.items() if why is None and override_key(moved[o]) not in mine]


def _quote(text: str, limit: int = 100) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def unknown_targets(node: Any, where: str = "") -> list[str]:
    """`key: target` for every `_target_` of a composed config that is not one of KNOWN_TARGETS.

    Nothing is resolved: an interpolated target (`${x}`) is reported as written, never looked up.
    """
    found: list[str] = []
    if isinstance(node, DictConfig):
        for key in node:
            place = f"{where}.{key!s}" if where else str(key)
            if OmegaConf.is_interpolation(node, str(key)):
                raw = node._get_node(str(key))._value()  # type: ignore[union-attr]
                if key == "_target_":
                    found.append(f"{where or '<root>'}: {raw}")
            elif key == "_target_":
                if node[key] not in KNOWN_TARGETS:
                    found.append(f"{where or '<root>'}: {node[key]}")
            else:
                found += unknown_targets(node[key], place)
    elif isinstance(node, ListConfig):
        for index in range(len(node)):
            if not OmegaConf.is_interpolation(node, index):
                found += unknown_targets(node[index], f"{where}[{index}]")
    return found


def check_composed_targets(overrides: Sequence[str]) -> None:
    """Composes `predict` with overrides (nothing instantiated, nothing resolved) and refuses any `_target_`
    that the project's own configs do not use.

    Raises:
        CheckpointError: Naming each unknown target and where it is.
    """
    from baselines.config import compose_config

    composed = [
        o for o in overrides if not override_key(o).startswith(("hydra.", "hydra/")) and override_key(o) != "hydra"
    ]
    unknown = unknown_targets(compose_config("predict", composed))
    if unknown:
        raise CheckpointError(
            "the config composed for this checkpoint names code the project's own configs never use: "
            f"{'; '.join(unknown)}. Nothing was run. If you trust the person who made it, add trust_checkpoint=true"
        )


def with_checkpoint_overrides(argv: Sequence[str]) -> list[str]:
    """For `baselines predict ckpt_path=X ...` without `experiment=`: the checkpoint's overrides, then argv.

    The checkpoint's stored config is checked as data (`replayed_overrides`), then every `_target_` of the config
    they compose is checked against KNOWN_TARGETS, before Hydra starts and anything is instantiated.
    """
    from baselines.config import moved_override

    argv = [moved_override(a) for a in argv]
    values = {override_key(a): a.split("=", 1)[1] for a in argv if "=" in a}
    checkpoint = values.get("ckpt_path")
    if not checkpoint or checkpoint in ("null", "last") or "experiment" in values:
        return argv
    record = read_record(checkpoint)
    read_tokenizer(checkpoint)  # a hostile tokenizer entry is refused now, before Hydra makes the run folder
    if record is None:
        raise CheckpointError(
            f"{checkpoint} records no config (saved by another program or an older version): "
            "name the experiment and the overrides used in training, e.g. experiment=drawnui ..."
        )
    trust = values.get("trust_checkpoint", "false").lower() == "true"
    composed = [*replayed_overrides(record, argv, trust), *argv]
    if not trust:
        check_composed_targets(composed)
    return composed


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
