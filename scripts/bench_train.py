"""Training throughput: the suite's LightningModule under the Lightning Trainer vs a plain PyTorch loop.

Both sides use the same module (its `training_step` and `configure_optimizers`), the same data
loader, device and precision, so the ratio is the cost of the Trainer's loop, hooks and logging.

    python scripts/bench_train.py                          # every demo config, CPU, fp32
    python scripts/bench_train.py --tasks drawnui --device cuda --precision bf16-mixed --steps 50

Prints a Markdown table (paste it into docs/performance.md with the device and versions).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import platform
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from lightning.fabric.utilities.apply_func import move_data_to_device
from torch.utils.data.dataloader import _BaseDataLoaderIter

from baselines.config import compose_config
from baselines.demo import demo_names
from baselines.models.vocabulary import VocabularyHeadModule


@dataclass
class LoopResult:
    """Steps/s and peak memory of one training loop, and where its wall time went.

    Attributes:
        loader_wait: Share of the timed wall time the training process spent waiting for the data
            loader's next batch (`loader_clock`): the loader bounds the step when this is large.
        device_busy: Share of the wall time between each step's first and last GPU work (CUDA events
            recorded after the batch reached the device and after the optimizer step); an upper bound on
            the time inside kernels, low when the GPU waits for the loader or for Python. NaN on the CPU.
        parameters: The module's parameter count (its vocabulary head included).
    """

    steps_per_s: float
    peak_gib: float
    loader_wait: float
    device_busy: float
    parameters: int


class _LoaderClock:
    """Seconds spent in `next()` of every DataLoader iterator while `counting`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.counting = False

    def start(self) -> None:
        self.seconds, self.counting = 0.0, True


@contextlib.contextmanager
def loader_clock() -> Iterator[_LoaderClock]:
    """Times every DataLoader `next()` in this process, under the Trainer's fetcher and the plain loop alike.

    The patch is on the iterator class because Lightning wraps the loader in its own fetcher; it is
    undone on exit. With workers, the time is the wait for a ready batch; without, the loading itself.
    """
    clock = _LoaderClock()
    original = _BaseDataLoaderIter.__next__

    def timed_next(self: _BaseDataLoaderIter) -> Any:
        begin = time.perf_counter()
        try:
            return original(self)
        finally:
            if clock.counting:
                clock.seconds += time.perf_counter() - begin

    _BaseDataLoaderIter.__next__ = timed_next  # type: ignore[method-assign]
    try:
        yield clock
    finally:
        _BaseDataLoaderIter.__next__ = original  # type: ignore[method-assign]


class _StepClock:
    """The wall time of the timed steps and the CUDA events that bracket each step's GPU work."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.start = 0.0
        self.end = 0.0
        self.events: list[tuple[Any, Any]] = []
        self._begin: Any = None

    def begin_timing(self) -> None:
        _sync()
        self.start = time.perf_counter()

    def end_timing(self) -> None:
        _sync()
        self.end = time.perf_counter()

    def step_started(self) -> None:
        if self.cuda:
            self._begin = torch.cuda.Event(enable_timing=True)
            self._begin.record()

    def step_ended(self) -> None:
        if self.cuda and self._begin is not None:
            done = torch.cuda.Event(enable_timing=True)
            done.record()
            self.events.append((self._begin, done))
            self._begin = None

    def busy(self) -> float:
        if not self.cuda:
            return float("nan")
        return sum(begin.elapsed_time(done) for begin, done in self.events) / 1000 / (self.end - self.start)


class _StepTimer(pl.Callback):
    """Times the Trainer's training steps after `warmup` of them (`_StepClock`, `loader_clock`)."""

    def __init__(self, warmup: int, clock: _StepClock, loader: _LoaderClock) -> None:
        self.warmup = warmup
        self.clock = clock
        self.loader = loader
        self.timing = False

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.warmup:
            self.clock.begin_timing()
            self.loader.start()
            self.timing = True
        if self.timing:
            self.clock.step_started()

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.timing:
            self.clock.step_ended()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.clock.end_timing()
        self.loader.counting = False


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _batches(loader: Any) -> Iterator[Any]:
    while True:
        yield from loader


def _setup(name: str, root: Path, overrides: Sequence[str]) -> tuple[Any, Any, int]:
    cfg = compose_config(
        "train",
        [f"experiment={name}", f"+demo={name}", f"paths.root_dir={root}", f"paths.output_dir={root}/out", *overrides],
    )
    instantiate(cfg.synthetic)
    datamodule = instantiate(cfg.data)
    return datamodule, cfg, int(cfg.data.loader.batch_size)


def bench_lightning(cfg: Any, datamodule: Any, steps: int, warmup: int, device: str, precision: str) -> LoopResult:
    """`steps` timed training steps of `cfg.model` under a Lightning Trainer, after `warmup` untimed ones."""
    pl.seed_everything(0, workers=True)
    model = instantiate(cfg.model)
    cuda = device == "cuda"
    clock = _StepClock(cuda)
    with loader_clock() as loader:
        trainer = pl.Trainer(
            accelerator="gpu" if cuda else "cpu",
            devices=1,
            precision=precision,  # type: ignore[arg-type]
            max_steps=warmup + steps,
            limit_val_batches=0,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            benchmark=cuda,  # as trainer=gpu
            callbacks=[_StepTimer(warmup, clock, loader)],
        )
        _reset_memory()
        trainer.fit(model, datamodule=datamodule)
    wall = clock.end - clock.start
    return LoopResult(steps / wall, _peak_memory(), loader.seconds / wall, clock.busy(), _parameters(model))


def bench_plain(cfg: Any, datamodule: Any, steps: int, warmup: int, device: str, precision: str) -> LoopResult:
    """The same as `bench_lightning` in a plain PyTorch loop: the module's `training_step` and optimizer."""
    pl.seed_everything(0, workers=True)
    model = instantiate(cfg.model)
    if isinstance(model, VocabularyHeadModule):  # what `setup` does under a Trainer
        model.build_head(getattr(datamodule, model.vocabulary_attribute))
    model = model.to(device)
    model.train()
    configured = model.configure_optimizers()
    optimizer = configured["optimizer"] if isinstance(configured, dict) else configured
    autocast = (
        torch.autocast(device_type=device, dtype=torch.bfloat16)
        if precision.startswith("bf16")
        else contextlib.nullcontext()
    )
    cuda = device == "cuda"
    torch.backends.cudnn.benchmark = cuda  # as the Trainer's benchmark=True above
    clock = _StepClock(cuda)
    with loader_clock() as loader:
        batches = _batches(datamodule.train_dataloader())
        _reset_memory()
        for step in range(warmup + steps):
            if step == warmup:
                clock.begin_timing()
                loader.start()
            batch = move_data_to_device(next(batches), torch.device(device))
            if step >= warmup:
                clock.step_started()
            with autocast:
                loss = model.training_step(batch, step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step >= warmup:
                clock.step_ended()
        clock.end_timing()
    wall = clock.end - clock.start
    return LoopResult(steps / wall, _peak_memory(), loader.seconds / wall, clock.busy(), _parameters(model))


def _parameters(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def _reset_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def _peak_memory() -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")


def _fmt(value: float, spec: str) -> str:
    return "n/a" if math.isnan(value) else format(value, spec)  # GPU-only measurements on the CPU


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=None, help="comma-separated demo names (default: all)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default=None, help="32-true (CPU default) or bf16-mixed (GPU default)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every task, e.g. data.loader.batch_size=16")
    args = parser.parse_args()
    precision = args.precision or ("bf16-mixed" if args.device == "cuda" else "32-true")
    names = args.tasks.split(",") if args.tasks else demo_names()
    # self.log outside a Trainer (the plain loop) only warns; the warning is not what is measured
    warnings.filterwarnings("ignore", message=".*self.trainer. reference is not registered.*")
    warnings.filterwarnings("ignore", message=".*You are trying to `self.log\\(\\)`.*")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            datamodule, cfg, batch_size = _setup(name, Path(tmp) / name, args.overrides)
            lit = bench_lightning(cfg, datamodule, args.steps, args.warmup, args.device, precision)
            plain = bench_plain(cfg, datamodule, args.steps, args.warmup, args.device, precision)
            rows.append((name, batch_size, lit, plain))
    device = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or "cpu"
    print(
        f"\ndevice: {device}; torch {torch.__version__}, lightning {pl.__version__}; precision {precision}; "
        f"{args.steps} timed steps after {args.warmup} warm-up steps; demo-scale configs\n"
    )
    print(
        "| task | batch | suite samples/s | plain samples/s | suite / plain | suite peak GiB | plain peak GiB "
        "| loader wait suite, plain | GPU busy suite, plain |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, batch, lit, plain in rows:
        print(
            f"| {name} | {batch} | {lit.steps_per_s * batch:.1f} | {plain.steps_per_s * batch:.1f} "
            f"| {lit.steps_per_s / plain.steps_per_s:.3f} "
            f"| {_fmt(lit.peak_gib, '.2f')} | {_fmt(plain.peak_gib, '.2f')} "
            f"| {lit.loader_wait:.0%}, {plain.loader_wait:.0%} "
            f"| {_fmt(lit.device_busy, '.0%')}, {_fmt(plain.device_busy, '.0%')} |"
        )


if __name__ == "__main__":
    main()
