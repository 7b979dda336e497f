"""Train -> predict -> write run file -> validate -> score, driven by one composed Hydra config.

Only this module (and the CLI) sees the config: everything it builds gets plain typed arguments
through `hydra.utils.instantiate`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from baselines.runfiles.atomic import atomic_write_text
from baselines.runfiles.provenance import dataset_fingerprint
from baselines.runfiles.writer import RunFileWriter
from baselines.tasks import get_task

log = logging.getLogger(__name__)


def _instantiate_group(group: DictConfig | None) -> list[Any]:
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def _existing_paths(node: Any) -> Iterator[str]:
    if isinstance(node, DictConfig):
        for key, value in node.items():
            if key != "_target_":
                yield from _existing_paths(value)
    elif isinstance(node, str) and ("/" in node) and Path(node).exists():
        yield node


def _find(callbacks: list[Any], kind: type) -> Any | None:
    return next((c for c in callbacks if isinstance(c, kind)), None)


def _partial_prediction(trainer: pl.Trainer) -> bool:
    limit = trainer.limit_predict_batches
    return bool(getattr(trainer, "fast_dev_run", False)) or (limit is not None and limit != 1.0)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Runs what the config asks for (`train`, `predict`, `evaluate` flags) and returns a summary.

    The summary has `task`, `run_file`, `checkpoint`, `scores` (empty when there is no ground truth) and
    `metrics` (the trainer's last logged values).
    """
    if cfg.get("seed") is not None:
        pl.seed_everything(int(cfg.seed), workers=True)
    spec = get_task(cfg.task)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    callbacks = _instantiate_group(cfg.get("callbacks"))
    loggers = _instantiate_group(cfg.get("logger"))
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    writer = _find(callbacks, RunFileWriter)
    if cfg.get("predict") and writer is None:
        raise ValueError("predict=true needs callbacks.run_file_writer (baselines.runfiles.writer.RunFileWriter)")
    if writer is not None and cfg.get("predict"):
        writer.check_writable()

    checkpoint = cfg.get("ckpt_path")
    if cfg.get("train"):
        trainer.fit(model, datamodule=datamodule, ckpt_path=checkpoint)
        saver = _find(callbacks, ModelCheckpoint)
        best = saver.best_model_path if saver is not None else ""
        checkpoint = best or None  # None: predict with the weights in memory (fast_dev_run, no saver)

    summary: dict[str, Any] = {
        "task": spec.name,
        "checkpoint": checkpoint,
        "run_file": None,
        "scores": {},
        "metrics": {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1},
    }
    if not cfg.get("predict"):
        return summary
    assert writer is not None
    writer.set_provenance(
        config=OmegaConf.to_container(cfg, resolve=True),
        seed=cfg.get("seed"),
        checkpoint=checkpoint,
        dataset_sha=dataset_fingerprint(sorted(set(_existing_paths(cfg.data)))),
    )
    trainer.predict(model, datamodule=datamodule, ckpt_path=checkpoint, return_predictions=False)
    if not trainer.is_global_zero:
        return summary
    skipped = {split: files for split, files in getattr(datamodule, "skipped", {}).items() if files}
    if skipped:
        summary["skipped"] = skipped
        log.warning("unreadable files left out (on_bad_image=skip): %s", {k: len(v) for k, v in skipped.items()})
    summary["run_file"] = str(writer.output_path)

    evaluation = cfg.get("evaluation") or {}
    if _partial_prediction(trainer):
        # Only some batches were predicted: the file cannot be complete, so check its grammar only.
        log.info("partial prediction (fast_dev_run / limit_predict_batches): grammar check only, no score")
        spec.parse_run(writer.output_path, None)
        return summary
    reference = spec.load_reference(evaluation.get("ground_truth"), evaluation.get("images"))
    if evaluation.get("subsets"):
        reference = spec.with_subsets(reference, evaluation["subsets"])
    parsed = spec.parse_run(writer.output_path, reference)  # the run file we wrote must pass the validator
    log.info("run file %s passed validation", writer.output_path)
    if cfg.get("evaluate") and evaluation.get("ground_truth"):
        summary["scores"] = spec.score(parsed, reference)
        scores_path = writer.output_path.with_name(writer.output_path.name + ".scores.json")
        atomic_write_text(scores_path, json.dumps(summary["scores"], indent=2, sort_keys=True) + "\n")
        log.info("%s scores: %s", spec.name, summary["scores"])
    return summary
