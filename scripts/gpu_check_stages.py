"""The measurements of `scripts/gpu_check.py`, one function per stage; each emits its rows as it goes.

Imported by gpu_check.py only after it has installed what the machine lacks: this module imports torch,
Lightning, Hydra and the suite. Training rows reuse scripts/bench_train.py (the suite's LightningModule
under a Trainer and in a plain loop) and the retrieval rows scripts/bench_retrieval.py.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from baselines.config import compose_config
from bench_retrieval import embed_throughput, query_latency
from bench_train import LoopResult, bench_lightning, bench_plain

Emit = Callable[[dict[str, Any]], None]

# The region (detector), caption, VQA and TB experiments, measured at the sizes of their real-data configs.
TASKS = ("drawnui", "caption", "vqa", "tbct")
PRECISIONS = ("bf16-mixed", "32-true")
LIFELOG_IMAGES = 190_000  # the LMRT 2020 collection, about

# Generator arguments that make the synthetic files about as large as the released ones: drawnUI pages of
# half an A4 scan at 300 dpi (the loader decodes the 2480x3508 scans at 1/2 scale), 1024 px radiographs,
# 96^3 CTs (lungs are cropped and resized to data.size, then cached, as for real CTs: only the first
# epoch, inside the warm-up, reads the CTs themselves).
REAL_SYNTHETIC: dict[str, dict[str, Any]] = {
    "drawnui": {"n_train": 24, "n_test": 1, "width": 1240, "height": 1754},
    "caption": {"n_train": 192, "n_test": 1, "size": 1024},
    "vqa": {"n_train": 192, "n_test": 1, "size": 1024},
    "tbct": {"n_train": 16, "n_test": 2, "size": 96},
}
TINY_SYNTHETIC: dict[str, dict[str, Any]] = {
    "drawnui": {"n_train": 6, "n_test": 1},
    "caption": {"n_train": 8, "n_test": 1},
    "vqa": {"n_train": 8, "n_test": 1},
    "tbct": {"n_train": 6, "n_test": 2},
}
# The dry run's shapes: the demo configs, smaller still so that every stage fits in CI's minute on 2 cores.
TINY: dict[str, dict[str, Any]] = {
    "drawnui": {
        "data.image_size": 96,
        "data.loader.batch_size": 2,
        "model.net.backbone": "resnet10t",
        "model.net.fpn_channels": 32,
        "model.net.representation_size": 64,
        "model.net.rpn_batch_size_per_image": 32,
        "model.net.box_batch_size_per_image": 32,
    },
    "caption": {"data.loader.batch_size": 2},
    "vqa": {"data.loader.batch_size": 2},
    "tbct": {"data.loader.batch_size": 2, "data.size": [16, 16, 16]},
}
# The real configs' data keys that set what reaches the model and how it is loaded (not where files are).
LOADER_KEYS = ("image_size", "size", "loader", "augmentations", "balanced_sampling")
# The GPU machine has no internet: hub weights off, random networks of the configs' sizes. The tokenizers
# are the word-level ones the synthetic generators train (GPT-2's and BERT's are hub downloads).
OFFLINE: dict[str, dict[str, Any]] = {
    "drawnui": {"model.net.pretrained": False},
    "caption": {"model.net.encoder": None, "model.net.decoder": None},
    "vqa": {"model.image_net.pretrained": False, "model.text_net.name": None},
    "tbct": {},
}


@dataclass(frozen=True)
class Settings:
    """What every stage measures with.

    Attributes:
        device: "cuda" or "cpu".
        tiny: The dry run: demo-scale models and data, one or two steps.
        steps: Timed training steps per loop.
        warmup: Untimed steps before them (cuDNN autotuning, allocator, loader start-up).
        work_dir: Where the synthetic data sets are written.
    """

    device: str
    tiny: bool
    steps: int
    warmup: int
    work_dir: Path


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value  # JSON has no NaN


def _peak_gib(device: str) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None


def environment_stage(settings: Settings, emit: Emit) -> None:
    """Device, driver, and the versions the numbers were measured with."""
    versions = {}
    for name in ("torch", "torchvision", "lightning", "timm", "transformers", "open-clip-torch", "monai", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    row: dict[str, Any] = {
        "key": "environment",
        "python": platform.python_version(),
        "cpus": len(os.sched_getaffinity(0)),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "versions": versions,
    }
    if settings.device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda but torch sees no CUDA device")
        if float((torch.ones(4, device="cuda") * 2).sum()) != 8.0:  # CUDA usable in this process
            raise RuntimeError("a CUDA computation gave a wrong result")
        properties = torch.cuda.get_device_properties(0)
        row |= {
            "device": properties.name,
            "capability": f"{properties.major}.{properties.minor}",
            "multiprocessors": properties.multi_processor_count,
            "memory_gib": properties.total_memory / 2**30,
            "driver": _driver_version(),
        }
    else:
        row |= {"device": f"CPU ({platform.processor() or platform.machine()})", "driver": None}
    emit(row)


def _driver_version() -> str | None:
    try:
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip().splitlines()[0] if result.returncode == 0 and result.stdout.strip() else None


def task_config(task: str, root: Path, tiny: bool) -> DictConfig:
    """The experiment's config on synthetic files: the demo's generator (writing the layout the experiment reads)
    and (unless `tiny`) the real-data config's image sizes, batch size, loader and model, offline."""
    base = [f"experiment={task}", f"paths.root_dir={root}", f"paths.output_dir={root}/out"]
    cfg = compose_config("train", [*base, f"+demo={task}"])
    with open_dict(cfg):  # the generators' size arguments are not in the demo configs
        for key, value in (TINY_SYNTHETIC if tiny else REAL_SYNTHETIC)[task].items():
            cfg.synthetic[key] = value
        if tiny:
            for key, value in TINY[task].items():
                OmegaConf.update(cfg, key, value)
            return cfg
        real = compose_config("train", base)
        tokenizer = cfg.model.get("tokenizer")
        cfg.model = real.model
        if tokenizer is not None:
            cfg.model.tokenizer = tokenizer
        for key in LOADER_KEYS:
            if key in real.data:
                cfg.data[key] = real.data[key]
        for key, value in OFFLINE[task].items():
            OmegaConf.update(cfg, key, value)
    return cfg


def _input_shape(cfg: DictConfig) -> str:
    size = cfg.data.get("image_size")
    return f"{size} px" if size is not None else "x".join(str(s) for s in cfg.data["size"]) + " per lung"


def training_stage(task: str, settings: Settings, emit: Emit) -> None:
    """One row per precision: the suite's Trainer vs a plain loop on the same module and data module."""
    # self.log outside a Trainer (the plain loop) only warns; the warning is not what is measured
    warnings.filterwarnings("ignore", message=".*self.trainer. reference is not registered.*")
    warnings.filterwarnings("ignore", message=".*You are trying to `self.log\\(\\)`.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    root = settings.work_dir / task
    cfg = task_config(task, root, settings.tiny)
    instantiate(cfg.synthetic)
    datamodule = instantiate(cfg.data)
    batch = int(cfg.data.loader.batch_size)
    for precision in PRECISIONS:
        row: dict[str, Any] = {
            "key": f"{task} {precision}",
            "task": task,
            "model": str(cfg.model._target_).rsplit(".", 1)[1],
            "input": _input_shape(cfg),
            "batch": batch,
            "workers": int(cfg.data.loader.num_workers),
            "precision": precision,
        }
        try:
            suite = bench_lightning(cfg, datamodule, settings.steps, settings.warmup, settings.device, precision)
            _release(settings.device)
            plain = bench_plain(cfg, datamodule, settings.steps, settings.warmup, settings.device, precision)
            _release(settings.device)
        except Exception as error:  # one precision failing (e.g. out of memory) leaves the other's row
            emit(row | {"error": f"{type(error).__name__}: {error}"})
            _release(settings.device)
            continue
        # > 1: the Trainer's step takes longer than the plain loop's (the goal: at most 1.05)
        row["suite_over_plain"] = plain.steps_per_s / suite.steps_per_s
        row["parameters_m"] = suite.parameters / 1e6
        emit(row | _loop_columns("suite", suite, batch) | _loop_columns("plain", plain, batch))


def _release(device: str) -> None:
    """Frees the last loop's model, optimizer and loader workers before the next loop is measured, so
    that neither its memory nor its persistent workers count against the next."""
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def _loop_columns(name: str, result: LoopResult, batch: int) -> dict[str, Any]:
    return {
        f"{name}_images_per_s": result.steps_per_s * batch,
        f"{name}_gpu_busy": _number(result.device_busy),
        f"{name}_loader_wait": result.loader_wait,
        f"{name}_peak_gib": _number(result.peak_gib),
    }


def retrieval_stage(settings: Settings, emit: Emit) -> None:
    """CLIP image-embedding throughput (bf16, random init) and exact top-50 query latency, index on the device."""
    model, size, batch, images = ("baselines-tiny-clip", 64, 8, 16) if settings.tiny else ("ViT-B-32", 224, 256, 8192)
    if settings.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    per_s = embed_throughput(model, settings.device, "bf16", images, batch, size)
    emit(
        {
            "key": "clip embedding",
            "model": model,
            "setting": f"{size} px, batch {batch}, bf16, {images} images, open_clip random init",
            "images_per_s": per_s,
            "collection_seconds": LIFELOG_IMAGES / per_s,
            "peak_gib": _peak_gib(settings.device),
        }
    )
    rows, queries, k = (2_000, 5, 50) if settings.tiny else (LIFELOG_IMAGES, 50, 50)
    if settings.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    single_ms, batched_ms = query_latency(rows, 512, queries, k, settings.device, 2 << 30)
    emit(
        {
            "key": "clip query",
            "setting": f"{rows:,} x 512 fp16 index resident on {settings.device}, exact top-{k}",
            "single_ms": single_ms,
            "batched_ms_per_query": batched_ms,
            "queries": queries,
            "peak_gib": _peak_gib(settings.device),
        }
    )


def run(stage: str, settings: Settings, emit: Emit) -> None:
    """Runs stage `environment`, `train:<task>` or `retrieval`."""
    pl.seed_everything(0)
    if stage == "environment":
        environment_stage(settings, emit)
    elif stage.startswith("train:"):
        training_stage(stage.split(":", 1)[1], settings, emit)
    elif stage == "retrieval":
        retrieval_stage(settings, emit)
    else:
        raise ValueError(f"unknown stage {stage!r}")


def default_work_dir() -> Path:
    return Path(tempfile.gettempdir()) / "gpu_check_data"


if __name__ == "__main__":
    sys.exit("run scripts/gpu_check.py")
