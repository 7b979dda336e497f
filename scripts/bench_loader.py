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
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from baselines.config import compose_config, config_dir
from baselines.data.images import load_rgb
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


def _photo(width: int, height: int) -> np.ndarray:
    """A smooth photo-like image with sensor noise (pure noise would make JPEG decoding unrealistically slow)."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(x // 8) % 256, (y // 6) % 256, ((x + y) // 16) % 256], -1).astype(np.float32)
    return np.clip(pixels + np.random.default_rng(0).normal(0, 8, pixels.shape), 0, 255).astype(np.uint8)


def _ms(call: Any, repeats: int) -> float:
    call()
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - start) / repeats * 1000


def transform_costs(folder: Path, repeats: int = 10) -> list[tuple[str, str, float, float, float, float]]:
    """Per real-data config: (name, sizes, ms full decode, ms reduced decode, ms augmenting first, ms resizing
    first), for one JPEG of the official size through the training augmentations."""
    rows = []
    for name, (width, height) in OFFICIAL_SIZES.items():
        cfg = OmegaConf.load(config_dir() / "data" / f"{name}.yaml")
        size = int(cfg.image_size)
        augmentations = [instantiate(a) for a in cfg.augmentations]
        path = folder / f"{name}.jpg"
        cv2.imwrite(str(path), _photo(width, height), [cv2.IMWRITE_JPEG_QUALITY, 90])
        image = load_rgb(path)
        boxes = name in ("coral_boxes", "drawnui")
        targets = {"bboxes": [(10, 10, 500, 400), (900, 1200, 1500, 1900)], "labels": [0, 1]} if boxes else {}
        costs = [_ms(partial(load_rgb, path), repeats), _ms(partial(load_rgb, path, longest_at_least=size), repeats)]
        for resize_first in (False, True):
            pipeline = detection_pipeline(size, augmentations, boxes, resize_first)
            costs.append(_ms(partial(pipeline, image=image, **targets), repeats))
        rows.append((name, f"{width}x{height} -> {size}", *costs))
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
        with tempfile.TemporaryDirectory() as tmp:
            costs = transform_costs(Path(tmp))
        print("\n| data config | image | decode: full, ms | decode: reduced, ms | augment then resize, ms |", end="")
        print(" resize then augment, ms |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for name, sizes, full, reduced, first, last in costs:
            print(f"| {name} | {sizes} | {full:.1f} | {reduced:.1f} | {first:.1f} | {last:.1f} |")
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
