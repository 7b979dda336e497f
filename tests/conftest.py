"""Shared fixtures: tiny synthetic data sets and config composition for CPU-fast tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.config import compose_config
from tasks import KITS
from tasks._nets import VQA_NET

if os.environ.get("PYTEST_XDIST_WORKER"):
    # xdist runs one worker per core: more intra-op threads than that only contend for the same cores.
    torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Runs the slow-marked tests first (a stable sort: the order within each group is kept).

    xdist hands tests out in collection order; a long test that starts near the end leaves the other
    worker idle until it finishes, so the long ones go first and the short ones fill in at the end.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def train_steps(module: torch.nn.Module, batch: dict, steps: int, lr: float) -> list[float]:
    """Trains a module's `training_step` on one repeated batch with AdamW (module left in train mode).

    Returns:
        The loss of every step.
    """
    module.train()
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = module.training_step(batch, step)  # type: ignore[operator]
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses


@pytest.fixture
def demo_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Composes `experiment=<name> +demo=<name>` writing into this test's tmp_path."""

    def make(name: str, *overrides: str, root: Path | None = None, output: str = "out") -> DictConfig:
        base = root or tmp_path
        return compose_config(
            "train",
            [
                f"experiment={name}",
                f"+demo={name}",
                f"paths.root_dir={base}",
                f"paths.output_dir={tmp_path / output}",
                *overrides,
            ],
        )

    return make


TINY_VQA_NET: Sequence[str] = VQA_NET
"""A VQA network small enough for a CPU test (ResNet-10t, a 1-layer text encoder at 32 px), random init."""

_DRAWNUI = KITS["drawnui"]
TINY_DRAWNUI: Sequence[str] = (*_DRAWNUI.tiny, *(_DRAWNUI.overfit.overrides if _DRAWNUI.overfit else ()))
"""drawnUI's kit: its tiny set and the detector of its overfit check (192 px, ResNet-10t, a 32-channel FPN)."""


@pytest.fixture(scope="session")
def drawnui_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic drawnUI set in the official layout (6 train, 3 test pages), made once."""
    root = tmp_path_factory.mktemp("drawnui_data")
    cfg = compose_config(
        "train",
        ["experiment=drawnui", "+demo=drawnui", f"paths.root_dir={root}", f"paths.output_dir={root}/o", *TINY_DRAWNUI],
    )
    instantiate(cfg.synthetic)
    return root


@pytest.fixture(scope="session")
def spll_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic SPLL set (32 training, 8 test participants) under `<root>/data/spll`, made once."""
    root = tmp_path_factory.mktemp("spll_data")
    overrides = ["experiment=spll", "+demo=spll", f"paths.root_dir={root}", f"paths.output_dir={root}/o"]
    instantiate(compose_config("train", [*overrides, "synthetic.n_train=32", "synthetic.n_test=8"]).synthetic)
    return root


class FailAt(pl.Callback):
    """Makes training fail at one batch, as an out-of-memory error or a lost node would (tests only).

    (A KeyboardInterrupt would make Lightning ignore SIGINT and exit the test process.)
    """

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch = epoch
        self.batch = batch

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: object, batch_idx: int
    ) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            raise RuntimeError("simulated failure")
