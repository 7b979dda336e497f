"""Data-loader throughput: what the CPU side can feed a GPU, per task, with the suite's data modules.

Iterates each demo task's training loader (for lmrt: the collection loader that the index embeds) with
the given worker count and reports samples/s and the bytes of one batch's image tensor (what workers
pass to the main process and what is copied to the GPU).

    python scripts/bench_loader.py                         # every image task of the demo, 2 workers
    python scripts/bench_loader.py --tasks lmrt --workers 8 --batches 50 data.image_size=224
    python scripts/bench_loader.py --transforms            # augment-then-resize vs resize-then-augment

Prints a Markdown table. `--transforms` times one image through each real-data config's training
pipeline at the official image sizes, with the augmentations before and after the resize.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from baselines.config import compose_config, config_dir
from baselines.data.transforms import detection_pipeline

IMAGE_TASKS = ("caption", "concepts", "coral_boxes", "coral_polygons", "drawnui", "lmrt", "vqa", "vqg")


def _loader(name: str, root: Path, workers: int, overrides: list[str]) -> Any:
    cfg = compose_config(
        "train",
        [
            f"experiment={name}",
            f"+demo={name}",
            f"paths.root_dir={root}",
            f"paths.output_dir={root}/out",
            f"data.num_workers={workers}",
            f"data.persistent_workers={workers > 0}",
            *overrides,
        ],
    )
    instantiate(cfg.synthetic)
    datamodule = instantiate(cfg.data)
    return datamodule.collection_loader() if name == "lmrt" else datamodule.train_dataloader()


def measure(loader: Any, batches: int, warmup: int) -> tuple[float, float, str]:
    """samples/s over `batches` batches after `warmup` (the loader is cycled), MB per image batch, dtype."""
    iterator, seen, start, megabytes, dtype = iter(loader), 0, 0.0, 0.0, ""
    for step in range(warmup + batches):
        if step == warmup:
            start = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            batch = next(iterator)
        images: torch.Tensor = batch["image"]
        if step >= warmup:
            seen += len(images)
        megabytes, dtype = images.element_size() * images.nelement() / 2**20, str(images.dtype).split(".")[-1]
    return seen / (time.perf_counter() - start), megabytes, dtype


# data config -> (width, height) of a typical official image
OFFICIAL_SIZES = {"coral_boxes": (4032, 3024), "drawnui": (2480, 3508), "medcaption": (1024, 1024), "vqa": (1024, 1024)}


def transform_costs(repeats: int = 10) -> list[tuple[str, str, float, float]]:
    """(data config, sizes, ms augmenting first, ms resizing first) for the real-data augmentations."""
    rows = []
    for name, (width, height) in OFFICIAL_SIZES.items():
        cfg = OmegaConf.load(config_dir() / "data" / f"{name}.yaml")
        augmentations = [instantiate(a) for a in cfg.augmentations]
        image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        boxes = name in ("coral_boxes", "drawnui")
        targets = {"bboxes": [(10, 10, 500, 400), (900, 1200, 1500, 1900)], "labels": [0, 1]} if boxes else {}
        costs = []
        for resize_first in (False, True):
            pipeline = detection_pipeline(int(cfg.image_size), augmentations, boxes, resize_first)
            pipeline(image=image, **targets)
            start = time.perf_counter()
            for _ in range(repeats):
                pipeline(image=image, **targets)
            costs.append((time.perf_counter() - start) / repeats * 1000)
        rows.append((name, f"{width}x{height} -> {cfg.image_size}", costs[0], costs[1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(IMAGE_TASKS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every task, e.g. data.batch_size=32")
    parser.add_argument("--transforms", action="store_true", help="time the training pipelines instead")
    args = parser.parse_args()
    if args.transforms:
        print("\n| data config | image | augment, then resize: ms | resize, then augment: ms |")
        print("| --- | --- | ---: | ---: |")
        for name, sizes, first, last in transform_costs():
            print(f"| {name} | {sizes} | {first:.1f} | {last:.1f} |")
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tasks.split(","):
            loader = _loader(name, Path(tmp) / name, args.workers, args.overrides)
            rate, megabytes, dtype = measure(loader, args.batches, args.warmup)
            rows.append((name, loader.batch_size, dtype, megabytes, rate))
    print(f"\ncpu: {platform.processor() or 'cpu'}; torch {torch.__version__}; {args.workers} workers\n")
    print("| task | batch | image dtype | MB per image batch | samples/s |")
    print("| --- | ---: | --- | ---: | ---: |")
    for name, batch, dtype, megabytes, rate in rows:
        print(f"| {name} | {batch} | {dtype} | {megabytes:.1f} | {rate:.1f} |")


if __name__ == "__main__":
    main()
