"""The thin base every problem-type LightningModule derives from.

It owns what is the same everywhere: optimiser and scheduler from Hydra partials, optional
channels_last and torch.compile, and the `predict_step` contract (a list of per-sample dicts that
each carry `id` and `index`, consumed by the run-file writer callback).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]


class BaseTask(pl.LightningModule):
    """Shared training plumbing.

    Args:
        optimizer: Partial that takes the parameters (Hydra `_partial_: true`).
        scheduler: Optional partial that takes the optimizer.
        scheduler_interval: "epoch" or "step".
        monitor: Metric a plateau scheduler watches.
        channels_last: Use channels_last memory format (faster convolutions on GPUs).
        compile_model: Wrap the network in torch.compile at fit start.
    """

    net: nn.Module

    def __init__(
        self,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        monitor: str | None = None,
        channels_last: bool = False,
        compile_model: bool = False,
    ) -> None:
        super().__init__()
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.monitor = monitor
        self.channels_last = channels_last
        self.compile_model = compile_model

    def setup(self, stage: str) -> None:
        if self.channels_last:
            self.to(memory_format=torch.channels_last)
        if self.compile_model and stage == "fit":
            self.net = torch.compile(self.net)  # type: ignore[assignment]

    def configure_optimizers(self) -> Any:
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = self.optimizer_factory(params)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = {"scheduler": self.scheduler_factory(optimizer), "interval": self.scheduler_interval}
        if self.monitor:
            scheduler["monitor"] = self.monitor
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def prepare_images(self, images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images
