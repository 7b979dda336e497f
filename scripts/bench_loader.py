"""Data-loader throughput: what the CPU side can feed a GPU, per task, with the suite's data modules.

Iterates each demo task's training loader (for lmrt: the collection loader that the index embeds) with
the given worker count and reports samples/s and the bytes of one batch's image tensor (what workers
pass to the main process and what is copied to the GPU).

    python scripts/bench_loader.py                         # every image task of the demo, 2 workers
    python scripts/bench_loader.py --tasks lmrt --workers 8 --batches 50 data.image_size=224
    python scripts/bench_loader.py --transforms            # one sample decoded and transformed: before vs now

Prints a Markdown table. `--transforms` times one sample of each real-data config at the official
image size, decoding included: full decode and augmentations before the resize (as before) against
reduced-scale decode and augmentations after the resize (as now).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from baselines.config import compose_config, config_dir
from baselines.data.transforms import detection_pipeline
from baselines.io.images import load_rgb

IMAGE_TASKS = ("caption", "concepts", "coral_boxes", "coral_polygons", "drawnui", "lmrt", "vqa", "vqg")


def _loader(name: str, root: Path, workers: int, overrides: list[str]) -> Any:
    cfg = compose_config(
        "train",
        [
            f"experiment={name}",
            f"+demo={name}",
            f"paths.root_dir={root}",
            f"paths.output_dir={root}/out",
            f"data.loader.num_workers={workers}",
            f"data.loader.persistent_workers={workers > 0}",
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
OFFICIAL_SIZES = {
    "coral_boxes": (4032, 3024),
    "drawnui": (2480, 3508),
    "medcaption": (1024, 1024),
    "vqa": (1024, 1024),
    "lmrt": (1024, 768),  # the lifelog camera
}


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


def _sample(path: Path, pipeline: A.Compose, decode_to: int | None, boxes: bool) -> None:
    """Decode and transform one training sample, with two boxes placed relative to the decoded image."""
    image = load_rgb(path, longest_at_least=decode_to)
    height, width = image.shape[:2]
    targets = {"bboxes": [(0.1 * width, 0.1 * height, 0.4 * width, 0.5 * height)], "labels": [0]} if boxes else {}
    pipeline(image=image, **targets)


def transform_costs(folder: Path, repeats: int = 10) -> list[tuple[str, str, float, float]]:
    """Per real-data config: (name, sizes, ms before, ms now) for one JPEG of the official size, decoded and
    put through the training pipeline: before = full decode, augment then resize; now = reduced-scale
    decode, resize then augment."""
    rows = []
    for name, (width, height) in OFFICIAL_SIZES.items():
        cfg = OmegaConf.load(config_dir() / "data" / f"{name}.yaml")
        assert isinstance(cfg, DictConfig)
        size = int(cfg.image_size)
        augmentations = [instantiate(a) for a in cfg.get("augmentations") or []]
        path = folder / f"{name}.jpg"
        cv2.imwrite(str(path), _photo(width, height), [cv2.IMWRITE_JPEG_QUALITY, 90])
        boxes = name in ("coral_boxes", "drawnui")
        before = detection_pipeline(size, augmentations, boxes, resize_first=False)
        now = detection_pipeline(size, augmentations, boxes, resize_first=True)
        rows.append(
            (
                name,
                f"{width}x{height} -> {size}",
                _ms(partial(_sample, path, before, None, boxes), repeats),
                _ms(partial(_sample, path, now, size, boxes), repeats),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(IMAGE_TASKS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every task, e.g. data.loader.batch_size=32")
    parser.add_argument("--transforms", action="store_true", help="time the training pipelines instead")
    args = parser.parse_args()
    if args.transforms:
        with tempfile.TemporaryDirectory() as tmp:
            costs = transform_costs(Path(tmp))
        print("\n| data config | image | before: full decode, augment then resize, ms ", end="")
        print("| now: reduced decode, resize then augment, ms | speed-up |")
        print("| --- | --- | ---: | ---: | ---: |")
        for name, sizes, before, now in costs:
            print(f"| {name} | {sizes} | {before:.1f} | {now:.1f} | {before / now:.1f}x |")
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
