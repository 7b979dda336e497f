"""`publish`: predict -> validate -> score -> commit -> plots -> results page.

A run file reaches its name only through `commit_checked`: validated (against the predicted split, or its grammar
alone after a partial prediction), scored when asked, then committed with its provenance and scores; a run that
fails validation or scoring is discarded and leaves nothing behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from omegaconf import DictConfig, ListConfig

from baselines.checkpoints import CheckpointError, describe_mismatch
from baselines.data.base import BaseDataModule
from baselines.noise import restoring_for_prediction
from baselines.pipeline.build import Built
from baselines.runfiles.provenance import content_sha256, dataset_fingerprint
from baselines.runfiles.writer import RunFileWriter
from baselines.tasks import TaskSpec
from baselines.visual.results import write_results_page

log = logging.getLogger("baselines.pipeline")  # the pipeline's logger, as train.log has always named it


def publish(built: Built, cfg: DictConfig, overrides: Sequence[str], checkpoint: str | None) -> dict[str, Any]:
    """Predicts with checkpoint (None: the weights in memory) and publishes the run file.

    Returns:
        The summary entries this adds, those that apply, in this order: `skipped` (items left out as
        unreadable), `run_file`, `scores`, `plots`, `results`; none on a DDP rank other than 0.
    """
    spec, trainer, writer = built.spec, built.trainer, built.writer
    assert writer is not None  # build refuses predict=true without one
    writer.prepare(spec.format_run, _provenance(built, cfg, overrides, checkpoint))
    _predict(built, checkpoint)
    if not trainer.is_global_zero:
        return {}
    published = _skipped(built.datamodule)
    if _partial_prediction(trainer):
        # Only some batches were predicted: the file cannot be complete, so check its grammar only.
        log.info("partial prediction (fast_dev_run / limit_predict_batches): grammar check only, no score")
        published["run_file"] = str(commit_checked(spec, writer, None, score=False)[2])
        return published
    evaluation = cfg.get("evaluation") or {}
    # The data module that made the predictions is the reference: no image folder needs naming again.
    reference = spec.reference_for(built.datamodule.prediction_set(), evaluation.get("ground_truth"))
    if evaluation.get("subsets"):
        reference = spec.with_subsets(reference, evaluation["subsets"])
    score = bool(cfg.get("evaluate") and evaluation.get("ground_truth"))
    parsed, scores, run_file = commit_checked(spec, writer, reference, score)
    published["run_file"] = str(run_file)
    log.info("run file %s passed validation", writer.output_path)
    if scores is not None:
        published["scores"] = scores
        published.update(_report_scores(built, scores, parsed, reference, plots=evaluation.get("plots", True)))
    page = write_results_page(  # curves, per-class scores, val_pred pictures
        spec,
        cfg.paths.output_dir,
        built.loggers,
        parsed,
        reference,
        scores,
        built.datamodule.prediction_set().files,
        trainer=trainer,
        module=built.model,
        datamodule=built.datamodule,
    )
    published["results"] = [str(path) for path in page]
    return published


def curves_page(built: Built, cfg: DictConfig) -> list[str]:
    """The results page of a run without predictions: its training curves."""
    return [str(path) for path in write_results_page(built.spec, cfg.paths.output_dir, built.loggers)]


def commit_checked(
    spec: TaskSpec, writer: RunFileWriter, reference: Any | None, score: bool
) -> tuple[Any, dict[str, float] | None, Path]:
    """Validates the staged run file, scores it if asked and only then commits it (provenance, scores, run file).

    Args:
        spec: The task: its validator and scorer.
        writer: The writer holding the staged run.
        reference: What the run must cover (None: its grammar only).
        score: Whether to score it (needs a reference with ground truth).

    Returns:
        The parsed run, its scores (None: not scored) and the run file's path.
    """
    try:
        parsed = spec.parse_run(writer.staging_path, reference)  # the run file we wrote must pass the validator
        scores = spec.score(parsed, reference) if score else None
    except BaseException:
        writer.discard()  # an invalid or unscorable run leaves nothing behind
        raise
    # the run file appears only now, after its provenance and scores (or not at all, if they cannot be written)
    return parsed, scores, writer.commit(scores)


def _provenance(built: Built, cfg: DictConfig, overrides: Sequence[str], checkpoint: str | None) -> dict[str, Any]:
    """What the run file's provenance JSON records besides the file's own hash."""
    return {
        "task": built.spec.name,
        "config": built.resolved,
        "overrides": overrides,
        "seed": cfg.get("seed"),
        "checkpoint": checkpoint,
        "untrained": checkpoint is None and not cfg.get("train"),
        "dataset_sha": dataset_fingerprint(sorted({path for _, path in _existing_paths(cfg.data)})),
        # local weights (pretrained=/path/..., a model folder): what exactly the network started from
        "weights_sha256": {f"model.{key}": content_sha256(path) for key, path in _existing_paths(cfg.model)},
    }


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


def _predict(built: Built, checkpoint: str | None) -> None:
    """Runs prediction (the writer stages the run file); weights that do not fit the network are a CheckpointError
    saying how they differ."""
    try:
        with restoring_for_prediction():
            built.trainer.predict(
                built.model, datamodule=built.datamodule, ckpt_path=checkpoint, return_predictions=False
            )
    except RuntimeError as exc:
        if checkpoint and "Error(s) in loading state_dict" in str(exc):
            raise CheckpointError(describe_mismatch(exc, checkpoint, built.record)) from None
        raise


def _partial_prediction(trainer: pl.Trainer) -> bool:
    limit = trainer.limit_predict_batches
    return bool(getattr(trainer, "fast_dev_run", False)) or (limit is not None and limit != 1.0)


def _skipped(datamodule: BaseDataModule) -> dict[str, Any]:
    """`{"skipped": {split: files}}` for the unreadable files left out (on_bad_image=skip), logged; else {}."""
    skipped = {split: files for split, files in datamodule.skipped.items() if files}
    if not skipped:
        return {}
    log.warning("unreadable files left out (on_bad_image=skip): %s", {k: len(v) for k, v in skipped.items()})
    return {"skipped": skipped}


def _report_scores(
    built: Built, scores: Mapping[str, float], parsed: Any, reference: Any, plots: bool
) -> dict[str, list[str]]:
    """Logs the scores (the log and every logger, as `test/<metric>`) and plots them beside the run file.

    Returns:
        `{"plots": [PNG paths]}`, or {} when plots are turned off (`evaluation.plots=false`).
    """
    spec, writer = built.spec, built.writer
    assert writer is not None
    log.info("%s scores: %s", spec.name, scores)
    for logger in built.loggers:
        logger.log_metrics({f"test/{k}": v for k, v in scores.items()}, step=built.trainer.global_step)
        logger.save()
    if not plots:
        return {}
    from baselines.visual.plots import write_plots  # imported only by a run with scores to plot

    folder = writer.output_path.with_name(writer.output_path.name + ".plots")
    return {"plots": [str(path) for path in write_plots(spec, parsed, reference, folder)]}
