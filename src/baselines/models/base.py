"""The thin base every problem-type LightningModule derives from.

It owns what is the same everywhere: its `Optim` settings (`model.optim`, built from configs/model/optim/: optimiser
and scheduler from Hydra partials, optional channels_last and torch.compile) and the `predict_step` contract (a list
of per-sample dicts that each carry `id` and `index`, consumed by the run-file writer callback).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch import nn

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]


def rng_states() -> dict[str, Any]:
    """torch, numpy and Python RNG states as tensors and tuples, which `torch.load(weights_only=True)` accepts."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": (kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, gauss),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(tuple(v if not isinstance(v, list) else tuple(v) for v in states["python"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


@dataclass(frozen=True)
class Optim:
    """How a module trains and runs: the settings every LightningModule shares.

    Args:
        optimizer: Partial that takes the parameters (Hydra `_partial_: true`).
        scheduler: Optional partial that takes the optimizer.
        scheduler_interval: "epoch" or "step".
        monitor: Metric a plateau scheduler watches (the config gives the experiment's `monitor`).
        channels_last: Use channels_last memory format (faster convolutions on GPUs).
        compile_model: Wrap the network in torch.compile at fit start.
    """

    optimizer: OptimizerFactory
    scheduler: SchedulerFactory | None = None
    scheduler_interval: str = "epoch"
    monitor: str | None = None
    channels_last: bool = False
    compile_model: bool = False


class BaseModule(pl.LightningModule):
    """Shared training plumbing.

    Args:
        optim: Optimizer, scheduler, memory format and compilation.
    """

    net: nn.Module

    def __init__(self, optim: Optim) -> None:
        super().__init__()
        self.optimizer_factory = optim.optimizer
        self.scheduler_factory = optim.scheduler
        self.scheduler_interval = optim.scheduler_interval
        self.monitor = optim.monitor
        self.channels_last = optim.channels_last
        self.compile_model = optim.compile_model
        # set by the run-file writer when it writes a score sidecar: predict_step then adds `raw_scores`
        self.emit_raw_scores = False

    def score_sidecar_info(self) -> dict[str, Any] | None:
        """What the `raw_scores` of this module's predictions score: `labels` (one per value) and any
        per-label arrays worth keeping beside them (e.g. decision thresholds); None if it has no raw scores."""
        return None

    def compiled_networks(self) -> list[nn.Module]:
        """The networks `compile_model` compiles; modules with other attribute names override this."""
        return [self.net]

    def setup(self, stage: str) -> None:
        if self.channels_last:
            self.to(memory_format=torch.channels_last)
        if self.compile_model and stage == "fit":
            for network in self.compiled_networks():
                network.compile()  # in place: state-dict keys stay as they are, checkpoints load either way

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning does not store RNG states; with them a resumed run draws the same shuffles and
        # samples as an uninterrupted one, so both end with the same weights and run file.
        checkpoint["rng_states"] = rng_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "rng_states" in checkpoint:
            set_rng_states(checkpoint["rng_states"])

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
        """Batch images as the networks take them: uint8 (from the loaders) scaled to [0, 1] floats on
        the images' device, channels_last when set. Float images are taken as already scaled."""
        if images.dtype == torch.uint8:
            images = images.float().div_(255.0)
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images
