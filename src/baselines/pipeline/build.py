"""`build`: everything a run needs, instantiated from the config and checked before a network trains.

The checks come first, in the order that fails fastest: the run file's folder (before hours of training), the
checkpoint to start from (that it exists and is this task's), every input split (before a network is built, its
weights perhaps downloaded), the ids the run file must hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from baselines.checkpoints import (
    AtomicCheckpointIO,
    CheckpointError,
    CheckpointRecord,
    Preemption,
    check_checkpoint_task,
    last_checkpoint,
    read_tokenizer,
    record_overrides,
)
from baselines.config import resolved_for_record
from baselines.data.base import BaseDataModule
from baselines.errors import DataError
from baselines.io.images import ImageReadError, set_max_image_pixels
from baselines.noise import drop_litlogger_tip
from baselines.preflight import UNTRAINED
from baselines.runfiles.writer import RunFileWriter
from baselines.tasks import TaskSpec, get_task
from baselines.text.packed import pack_tokenizer, tokenizer_folder


@dataclass
class Built:
    """What `build` made, for `fit` and `publish`.

    Attributes:
        spec: The ImageCLEF task.
        datamodule: The data, every split the run uses already read once.
        model: The LightningModule.
        trainer: The trainer, with the callbacks and loggers below.
        loggers: The Lightning loggers (empty: none configured).
        writer: The run-file writer callback (None: the config has none; then `predict` is false).
        saver: The checkpoint callback (None: none configured).
        preemption: The callback that turns SIGTERM or Ctrl-C into a resumable stop.
        checkpoint: The checkpoint the run starts from (`ckpt_path`, `last` looked up); None: fresh weights.
        record: What that checkpoint records of the run that wrote it (None: no record or no checkpoint).
        resolved: The config as recorded in checkpoints, loggers and the provenance.
    """

    spec: TaskSpec
    datamodule: BaseDataModule
    model: pl.LightningModule
    trainer: pl.Trainer
    loggers: list[Any]
    writer: RunFileWriter | None
    saver: ModelCheckpoint | None
    preemption: Preemption
    checkpoint: str | None
    record: dict[str, Any] | None
    resolved: dict[str, Any]


def build(cfg: DictConfig, overrides: Sequence[str]) -> Built:
    """Instantiates the callbacks, data module, model, loggers and trainer, checking each input on the way.

    Args:
        cfg: The composed config.
        overrides: The overrides it was composed from (recorded in every checkpoint).

    Raises:
        CheckpointError: Predicting without a checkpoint (unless `allow_untrained`), `ckpt_path=last` without a
            checkpoint folder or checkpoint, or another task's checkpoint.
        ValueError: `predict=true` without a run-file writer.
        FileExistsError: A run file that exists and may not be replaced.
        DataError: Missing or unreadable inputs, every failing split named at once.
    """
    spec = get_task(cfg.task)
    if cfg.get("predict") and not cfg.get("train") and cfg.get("ckpt_path") is None and not cfg.get("allow_untrained"):
        raise CheckpointError(UNTRAINED)
    callbacks = instantiate_group(cfg.get("callbacks"))
    writer: RunFileWriter | None = _find(callbacks, RunFileWriter)
    saver: ModelCheckpoint | None = _find(callbacks, ModelCheckpoint)
    if cfg.get("predict"):
        if writer is None:
            raise ValueError("predict=true needs callbacks.run_file_writer (baselines.runfiles.writer.RunFileWriter)")
        writer.check_writable()
    checkpoint = _checkpoint(cfg, saver)
    record = check_checkpoint_task(checkpoint, spec.name) if checkpoint else None
    datamodule = _datamodule(cfg, spec)
    model = _model(cfg, checkpoint)
    resolved = resolved_for_record(cfg)  # environment values stay `${oc.env:...}`: never recorded
    packed = pack_tokenizer(cfg.model.get("tokenizer")) if cfg.get("train") else None
    callbacks.append(
        CheckpointRecord({"task": spec.name, **record_overrides(overrides), "config": resolved}, tokenizer=packed)
    )
    preemption = Preemption(saver.dirpath if saver is not None else None)
    callbacks.append(preemption)
    loggers = instantiate_group(cfg.get("logger"))
    for logger in loggers:  # hparams.yaml and TensorBoard's HParams tab get the resolved config
        logger.log_hyperparams(resolved)
    drop_litlogger_tip()
    trainer: pl.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[AtomicCheckpointIO()]
    )
    return Built(spec, datamodule, model, trainer, loggers, writer, saver, preemption, checkpoint, record, resolved)


def _datamodule(cfg: DictConfig, spec: TaskSpec) -> BaseDataModule:
    """The data module, every split the run uses read once and the ids the run file will hold checked."""
    if cfg.get("max_image_pixels"):
        set_max_image_pixels(int(cfg.max_image_pixels))
    datamodule: BaseDataModule = instantiate(cfg.data)
    _check_inputs(datamodule, cfg)
    if cfg.get("predict"):
        spec.check_ids(datamodule.prediction_set())  # an id the run file cannot hold fails now, not after training
    return datamodule


def _model(cfg: DictConfig, checkpoint: str | None) -> pl.LightningModule:
    """The LightningModule; from a checkpoint that carries a tokenizer, built with that tokenizer (`model.tokenizer`
    is pointed at it before the config is recorded, so the provenance and new checkpoints name it too)."""
    carried = read_tokenizer(checkpoint) if checkpoint else None
    if carried is not None and "tokenizer" in cfg.model:  # the tokenizer the weights were trained with
        cfg.model.tokenizer = tokenizer_folder(carried, cfg.model.tokenizer, cfg.paths.output_dir)
    model: pl.LightningModule = instantiate(cfg.model)
    return model


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Every node of a config group (callbacks, logger) that names a `_target_`, instantiated."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def _find(callbacks: list[Any], kind: type) -> Any | None:
    return next((c for c in callbacks if isinstance(c, kind)), None)


def _check_inputs(datamodule: BaseDataModule, cfg: DictConfig) -> None:
    """Reads every split the run will use before a network is built (weights may come from a hub) or
    trained: a wrong path or a bad annotation line fails in seconds, not after the download or the epochs.
    Every split is read even after one fails, so every missing or unreadable file is reported at once.

    Raises:
        DataError: The one split's error, or every failing split's message in one (an ImageReadError when each
            was one).
    """
    splits = [*(("train", "val") if cfg.get("train") else ()), *(("predict",) if cfg.get("predict") else ())]
    errors: dict[str, DataError] = {}
    for split in splits:
        try:
            datamodule.dataset(split)
        except DataError as exc:
            errors.setdefault(str(exc), exc)  # the val split of a bad training file fails with the same message
    if len(errors) == 1:
        raise next(iter(errors.values()))
    if errors:
        unreadable = all(isinstance(exc, ImageReadError) for exc in errors.values())
        raise (ImageReadError if unreadable else DataError)("\n".join(errors))


def _checkpoint(cfg: DictConfig, saver: ModelCheckpoint | None) -> str | None:
    """The checkpoint to start from: `last` is looked up in the run's checkpoint folder, and refused if absent."""
    checkpoint = cfg.get("ckpt_path")
    if checkpoint != "last":
        return checkpoint
    if saver is None or saver.dirpath is None:
        raise CheckpointError("ckpt_path=last needs callbacks.model_checkpoint (it names the checkpoint folder)")
    return str(last_checkpoint(saver.dirpath))
