"""Train -> predict -> write run file -> validate -> score, driven by one composed Hydra config.

Only this module (and the CLI) sees the config: everything it builds gets plain typed arguments
through `hydra.utils.instantiate`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, ListConfig

from baselines.checkpoints import (
    AtomicCheckpointIO,
    CheckpointError,
    CheckpointRecord,
    Preemption,
    describe_mismatch,
    last_checkpoint,
    read_record,
    read_tokenizer,
    record_overrides,
)
from baselines.config import resolved_for_record
from baselines.data.base import BaseDataModule
from baselines.errors import DataError
from baselines.io.images import ImageReadError, set_max_image_pixels
from baselines.noise import drop_litlogger_tip, restoring_for_prediction
from baselines.runfiles.provenance import content_sha256, dataset_fingerprint
from baselines.runfiles.writer import RunFileWriter
from baselines.tasks import TaskSpec, get_task
from baselines.text.packed import pack_tokenizer, tokenizer_folder
from baselines.visual.results import write_results_page

log = logging.getLogger(__name__)


def _instantiate_group(group: DictConfig | None) -> list[Any]:
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def _existing_paths(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(config key, path) for every string value under node that names an existing file or folder."""
    if isinstance(node, DictConfig):
        for key, value in node.items():
            if key != "_target_":
                yield from _existing_paths(value, f"{where}.{key!s}" if where else str(key))
    elif isinstance(node, ListConfig):
        for index, value in enumerate(node):
            yield from _existing_paths(value, f"{where}[{index}]")
    elif isinstance(node, str) and ("/" in node) and Path(node).exists():
        yield where, node


def _find(callbacks: list[Any], kind: type) -> Any | None:
    return next((c for c in callbacks if isinstance(c, kind)), None)


def _partial_prediction(trainer: pl.Trainer) -> bool:
    limit = trainer.limit_predict_batches
    return bool(getattr(trainer, "fast_dev_run", False)) or (limit is not None and limit != 1.0)


def _hydra_overrides() -> list[str]:
    """The overrides `hydra.main` composed this run from (empty outside hydra.main)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _monitor_value(saver: ModelCheckpoint | None, trainer: pl.Trainer, name: str | None) -> float | None:
    """The monitored metric of the checkpoint the run predicts with (the checkpoint callback's best), else
    its last logged value; None when it was never logged (no validation, fast_dev_run)."""
    if saver is not None and saver.best_model_score is not None:
        return float(saver.best_model_score)
    value = trainer.callback_metrics.get(name) if name else None
    return float(value) if value is not None and value.numel() == 1 else None


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


def _check_checkpoint_task(checkpoint: str, spec: TaskSpec) -> dict[str, Any] | None:
    record = read_record(checkpoint)
    if record is not None and record.get("task") != spec.name:
        raise CheckpointError(
            f"checkpoint {checkpoint} is from {record.get('task')}, not {spec.name}: "
            f"give a {spec.name} checkpoint, or drop experiment= to predict {record.get('task')} with it"
        )
    return record


def run(cfg: DictConfig, overrides: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs what the config asks for (`train`, `predict`, `evaluate` flags) and returns a summary.

    Args:
        cfg: The composed config.
        overrides: The overrides it was composed from, stored in checkpoints so that
            `baselines predict ckpt_path=X` can compose it again; taken from Hydra when None.

    Returns:
        `task`, `run_file`, `checkpoint`, `scores` (empty when there is no ground truth), `metrics`
        (the trainer's last logged values), `monitor` (the best value of `cfg.monitor`, what a sweeper
        optimises; None without training or validation), with scores `plots` (the PNGs written next to
        them, see baselines.visual.plots), `results` (the run folder's results page: curves, per-class scores,
        pictures; baselines.visual.results) and, when items were left out as unreadable, `skipped`.
    """
    if cfg.get("seed") is not None:
        pl.seed_everything(int(cfg.seed), workers=True)
    spec = get_task(cfg.task)
    overrides = list(overrides) if overrides is not None else _hydra_overrides()
    if cfg.get("predict") and not cfg.get("train") and cfg.get("ckpt_path") is None and not cfg.get("allow_untrained"):
        raise CheckpointError(
            "predicting needs a trained model: ckpt_path=<checkpoint file> (or ckpt_path=last with "
            "hydra.run.dir=<the training run's folder>). To write a run file from an untrained model on "
            "purpose (a baseline of baselines), set allow_untrained=true"
        )
    callbacks = _instantiate_group(cfg.get("callbacks"))
    writer = _find(callbacks, RunFileWriter)
    saver: ModelCheckpoint | None = _find(callbacks, ModelCheckpoint)
    if cfg.get("predict") and writer is None:
        raise ValueError("predict=true needs callbacks.run_file_writer (baselines.runfiles.writer.RunFileWriter)")
    if writer is not None and cfg.get("predict"):
        writer.check_writable()
    checkpoint = _checkpoint(cfg, saver)
    record = _check_checkpoint_task(checkpoint, spec) if checkpoint else None
    if cfg.get("max_image_pixels"):
        set_max_image_pixels(int(cfg.max_image_pixels))
    datamodule: BaseDataModule = instantiate(cfg.data)
    _check_inputs(datamodule, cfg)
    if cfg.get("predict"):
        spec.check_ids(datamodule.prediction_set())  # an id the run file cannot hold fails now, not after training

    carried = read_tokenizer(checkpoint) if checkpoint else None
    if carried is not None and "tokenizer" in cfg.model:  # the tokenizer the weights were trained with
        cfg.model.tokenizer = tokenizer_folder(carried, cfg.model.tokenizer, cfg.paths.output_dir)
    model = instantiate(cfg.model)
    resolved = resolved_for_record(cfg)  # environment values stay `${oc.env:...}`: never recorded
    packed = pack_tokenizer(cfg.model.get("tokenizer")) if cfg.get("train") else None
    callbacks.append(
        CheckpointRecord({"task": spec.name, **record_overrides(overrides), "config": resolved}, tokenizer=packed)
    )
    preemption = Preemption(saver.dirpath if saver is not None else None)
    callbacks.append(preemption)
    loggers = _instantiate_group(cfg.get("logger"))
    for logger in loggers:  # hparams.yaml and TensorBoard's HParams tab get the resolved config
        logger.log_hyperparams(resolved)
    drop_litlogger_tip()
    trainer: pl.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[AtomicCheckpointIO()]
    )

    monitor = None
    if cfg.get("train"):
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=checkpoint)
        except SystemExit:  # SIGTERM or Ctrl-C (Lightning exits on a KeyboardInterrupt)
            if preemption.signal is None:
                raise
            raise SystemExit(preemption.report(overrides, cfg.paths.output_dir)) from None
        if preemption.signal is not None:  # it came as the last batch ended: training is complete, prediction not
            raise SystemExit(preemption.report(overrides, cfg.paths.output_dir))
        best = saver.best_model_path if saver is not None else ""
        checkpoint = best or None  # None: predict with the weights in memory (fast_dev_run, no saver)
        monitor = _monitor_value(saver, trainer, cfg.get("monitor"))

    summary: dict[str, Any] = {
        "task": spec.name,
        "checkpoint": checkpoint,
        "run_file": None,
        "scores": {},
        "metrics": {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1},
        "monitor": monitor,
    }
    if not cfg.get("predict"):
        if cfg.get("train") and trainer.is_global_zero:  # no predictions: the results page is the curves
            summary["results"] = [str(path) for path in write_results_page(spec, cfg.paths.output_dir, loggers)]
        return summary
    assert writer is not None
    writer.prepare(
        spec.format_run,
        {
            "task": spec.name,
            "config": resolved,
            "overrides": overrides,
            "seed": cfg.get("seed"),
            "checkpoint": checkpoint,
            "untrained": checkpoint is None and not cfg.get("train"),
            "dataset_sha": dataset_fingerprint(sorted({path for _, path in _existing_paths(cfg.data)})),
            # local weights (pretrained=/path/..., a model folder): what exactly the network started from
            "weights_sha256": {f"model.{key}": content_sha256(path) for key, path in _existing_paths(cfg.model)},
        },
    )
    try:
        with restoring_for_prediction():
            trainer.predict(model, datamodule=datamodule, ckpt_path=checkpoint, return_predictions=False)
    except RuntimeError as exc:
        if checkpoint and "Error(s) in loading state_dict" in str(exc):
            raise CheckpointError(describe_mismatch(exc, checkpoint, record)) from None
        raise
    if not trainer.is_global_zero:
        return summary
    skipped = {split: files for split, files in datamodule.skipped.items() if files}
    if skipped:
        summary["skipped"] = skipped
        log.warning("unreadable files left out (on_bad_image=skip): %s", {k: len(v) for k, v in skipped.items()})
    evaluation = cfg.get("evaluation") or {}
    staged = writer.staging_path
    if _partial_prediction(trainer):
        # Only some batches were predicted: the file cannot be complete, so check its grammar only.
        log.info("partial prediction (fast_dev_run / limit_predict_batches): grammar check only, no score")
        try:
            spec.parse_run(staged, None)
        except BaseException:
            writer.discard()  # an invalid run leaves nothing behind
            raise
        summary["run_file"] = str(writer.commit())
        return summary
    # The data module that made the predictions is the reference: no image folder needs naming again.
    reference = spec.reference_for(datamodule.prediction_set(), evaluation.get("ground_truth"))
    if evaluation.get("subsets"):
        reference = spec.with_subsets(reference, evaluation["subsets"])
    try:
        parsed = spec.parse_run(staged, reference)  # the run file we wrote must pass the validator
        scores = spec.score(parsed, reference) if cfg.get("evaluate") and evaluation.get("ground_truth") else None
    except BaseException:
        writer.discard()  # an invalid or unscorable run leaves nothing behind
        raise
    # the run file appears only now, after its provenance and scores (or not at all, if they cannot be written)
    summary["run_file"] = str(writer.commit(scores))
    log.info("run file %s passed validation", writer.output_path)
    if scores is not None:
        summary["scores"] = scores
        log.info("%s scores: %s", spec.name, scores)
        for logger in loggers:
            logger.log_metrics({f"test/{k}": v for k, v in scores.items()}, step=trainer.global_step)
            logger.save()
        if evaluation.get("plots", True):
            from baselines.visual.plots import write_plots

            folder = writer.output_path.with_name(writer.output_path.name + ".plots")
            summary["plots"] = [str(path) for path in write_plots(spec, parsed, reference, folder)]
    page = write_results_page(  # curves, per-class scores, val_pred pictures
        spec,
        cfg.paths.output_dir,
        loggers,
        parsed,
        reference,
        scores,
        datamodule.prediction_set().files,
        trainer=trainer,
        module=model,
        datamodule=datamodule,
    )
    summary["results"] = [str(path) for path in page]
    return summary
