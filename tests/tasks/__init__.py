"""One test kit per task: what the parametrised tests need to know of each experiment.

A kit names its experiment (also its demo config), the smallest synthetic set that still gives the task a
few batches, a random-init network small enough for the real-data commands on CPU, and how its model shows
that it learns (one batch memorised by its own `training_step`). A new task adds `tests/tasks/<task>.py`
with a `KIT` and is then covered by every parametrised test: determinism, validate/evaluate without torch,
the CLI listing, the real-data commands and the overfit test.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Check = Callable[[Any, dict[str, Any]], None]
"""Asserts, after training, that the module memorised the batch (module, batch)."""
Prepare = Callable[[Any, Any], None]
"""Readies a module for its data before training (module, datamodule): vocabulary heads are sized here."""


def _nothing(module: Any, datamodule: Any) -> None:
    return None


@dataclass(frozen=True)
class Overfit:
    """One batch, learnt by the module's own `training_step` with AdamW (`conftest.train_steps`).

    Attributes:
        items: Training items in the batch.
        steps: Optimiser steps.
        lr: Learning rate.
        final_loss: The last loss must be below this, if set.
        loss_ratio: The last loss must be below this fraction of the first, if set.
        overrides: Config overrides of this check (beside the kit's `tiny`).
        prepare: Called with (module, datamodule) before training.
        memorised: Called with (module, batch) after training: what the model must then get right.
    """

    items: int
    steps: int
    lr: float
    memorised: Check
    final_loss: float | None = None
    loss_ratio: float | None = None
    overrides: tuple[str, ...] = ()
    prepare: Prepare = _nothing


@dataclass(frozen=True)
class TaskKit:
    """Attributes:
    name: The experiment (and demo config) name, which is also the task's `task=` name or its family's.
    tiny: Overrides for the smallest synthetic set that still gives the task a few batches.
    fast: Overrides that make a whole pipeline run on the tiny set fast (smaller images or backbones).
    real: Overrides of a random-init network small enough for the real-data commands on CPU (`{data}` is the
        test's data folder, where the real-data builders leave a tokenizer at `<task>/tokenizer`).
    overfit: How the model shows it learns; None where no one-batch check exists yet.
    """

    name: str
    tiny: tuple[str, ...]
    fast: tuple[str, ...] = ()
    real: tuple[str, ...] = ()
    overfit: Overfit | None = field(default=None)


def _load() -> dict[str, TaskKit]:
    kits = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue  # shared pieces, not a task
        kit = importlib.import_module(f"{__name__}.{info.name}").KIT
        kits[kit.name] = kit
    return kits


KITS: dict[str, TaskKit] = _load()
"""Every task's kit by experiment name, in name order."""
OVERFIT_KITS: list[TaskKit] = [kit for kit in KITS.values() if kit.overfit is not None]
