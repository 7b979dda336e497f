"""A tiny train and predict under trainer=cpu print none of the known noise (issue 28, item 13): torch's pin_memory
warning, Lightning's "dirpath has changed" on predict and its litlogger tip, and no run file of the suite's own
holds more regions of a class than are scored (the validator's ">100 regions" warning on TTA runs)."""

from __future__ import annotations

import logging
import random
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.config import compose_config
from baselines.errors import FormatWarning
from baselines.pipeline import run
from baselines.tasks import get_task
from tasks import KITS

NOISE = ("pin_memory", "dirpath has changed", "litlogger", "most confident of a class")
SPLL = (*KITS["spll"].tiny, "trainer.max_epochs=1", "data.loader.pin_memory=true")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_tiny_train_and_predict_on_cpu_are_quiet(demo_cfg: Callable[..., DictConfig], tmp_path: Path) -> None:
    handler = _Records()
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric", "lightning_utilities")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            instantiate(demo_cfg("spll", *SPLL).synthetic)
            summary = run(demo_cfg("spll", *SPLL, output="train"), ["experiment=spll", "+demo=spll", *SPLL])
            overrides = [
                "experiment=spll",
                "+demo=spll",
                *SPLL,
                f"paths.root_dir={tmp_path}",
                f"paths.output_dir={tmp_path / 'predicted'}",  # a new run folder: "dirpath has changed" was warned
                f"ckpt_path={summary['checkpoint']}",
            ]
            assert run(compose_config("predict", overrides), [])["run_file"]
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    heard = [str(w.message) for w in caught] + handler.messages
    assert any("Seed set to" in message for message in heard)  # Lightning's own log lines were heard
    assert [message for message in heard if any(noise in message for noise in NOISE)] == []


def test_a_region_run_file_holds_only_the_scored_regions_per_class(tmp_path: Path) -> None:
    # test-time augmentation and fused boxes made more than 100 regions of a class, and the suite's own run file
    # then drew the validator's warning in train, validate and evaluate
    spec = get_task("drawnui")
    rng = random.Random(0)
    scores = [rng.random() for _ in range(150)]
    boxes = [[10.0 + i, 10.0, 30.0 + i, 40.0] for i in range(150)]
    prediction = {"id": "page.jpg", "boxes": [*boxes, boxes[0]], "scores": [*scores, 0.5], "labels": [0] * 150 + [1]}
    path = tmp_path / "run.txt"
    path.write_text(spec.format_run([prediction]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = spec.parse_run(path, None)
    assert [w for w in caught if issubclass(w.category, FormatWarning)] == []
    kept = sorted((r.score for r in parsed["page.jpg"] if r.label == 0), reverse=True)
    assert kept == pytest.approx(sorted(scores, reverse=True)[: spec.max_detections], abs=1e-4)  # the most confident
    assert [r.score for r in parsed["page.jpg"] if r.label == 1] == [pytest.approx(0.5)]  # other classes untouched
