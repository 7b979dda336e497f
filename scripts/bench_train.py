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

from baselines.config import compose_config
from baselines.demo import demo_names
from baselines.models.vocabulary import VocabularyHeadTask


class _StepTimer(pl.Callback):
    """Times training steps after `warmup` of them."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.start = 0.0
        self.end = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.warmup:
            _sync()
            self.start = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        _sync()
        self.end = time.perf_counter()


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
    return datamodule, cfg, int(cfg.data.batch_size)


def bench_lightning(
    cfg: Any, datamodule: Any, steps: int, warmup: int, device: str, precision: str
) -> tuple[float, float]:
    pl.seed_everything(0, workers=True)
    model = instantiate(cfg.model)
    timer = _StepTimer(warmup)
    trainer = pl.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        precision=precision,  # type: ignore[arg-type]
        max_steps=warmup + steps,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    _reset_memory()
    trainer.fit(model, datamodule=datamodule)
    return steps / (timer.end - timer.start), _peak_memory()


@dataclass
class PlainResult:
    """The plain loop's steps/s and peak memory, and where its wall time went.

    Attributes:
        loader_wait: Share of the timed wall time spent waiting for the next batch (and its copy to the
            device): the loader bounds the step when this is large.
        device_busy: Share of the wall time the GPU spent between each step's first and last kernel
            (CUDA events); NaN on the CPU.
    """

    steps_per_s: float
    peak_gib: float
    loader_wait: float
    device_busy: float


def bench_plain(cfg: Any, datamodule: Any, steps: int, warmup: int, device: str, precision: str) -> PlainResult:
    pl.seed_everything(0, workers=True)
    model = instantiate(cfg.model)
    if isinstance(model, VocabularyHeadTask):  # what `setup` does under a Trainer
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
    batches = _batches(datamodule.train_dataloader())
    _reset_memory()
    start, waited = 0.0, 0.0
    events: list[tuple[Any, Any]] = []
    for step in range(warmup + steps):
        if step == warmup:
            _sync()
            start = time.perf_counter()
        fetch = time.perf_counter()
        batch = move_data_to_device(next(batches), torch.device(device))
        if step >= warmup:
            waited += time.perf_counter() - fetch
        begin, done = (
            (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) if cuda else (None, None)
        )
        if begin is not None:
            begin.record()
        with autocast:
            loss = model.training_step(batch, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if done is not None and step >= warmup:
            done.record()
            events.append((begin, done))
    _sync()
    wall = time.perf_counter() - start
    busy = sum(b.elapsed_time(d) for b, d in events) / 1000 / wall if cuda else float("nan")
    return PlainResult(steps / wall, _peak_memory(), waited / wall, busy)


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
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every task, e.g. data.batch_size=16")
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
            lit, lit_mem = bench_lightning(cfg, datamodule, args.steps, args.warmup, args.device, precision)
            plain = bench_plain(cfg, datamodule, args.steps, args.warmup, args.device, precision)
            rows.append((name, batch_size, lit, lit_mem, plain))
    device = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or "cpu"
    print(
        f"\ndevice: {device}; torch {torch.__version__}, lightning {pl.__version__}; precision {precision}; "
        f"{args.steps} timed steps after {args.warmup} warm-up steps; demo-scale configs\n"
    )
    print(
        "| task | batch | suite samples/s | plain samples/s | suite / plain | suite peak GiB | plain peak GiB "
        "| plain: loader wait | plain: GPU busy |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, batch, lit, lit_mem, plain in rows:
        print(
            f"| {name} | {batch} | {lit * batch:.1f} | {plain.steps_per_s * batch:.1f} | {lit / plain.steps_per_s:.3f} "
            f"| {_fmt(lit_mem, '.2f')} | {_fmt(plain.peak_gib, '.2f')} | {plain.loader_wait:.0%} "
            f"| {_fmt(plain.device_busy, '.0%')} |"
        )


if __name__ == "__main__":
    main()
