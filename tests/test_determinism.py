"""Same seed and config -> byte-identical run file on CPU, for every task (one short training each)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import albumentations as A
import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from lightning.fabric.utilities.seed import pl_worker_init_function
from omegaconf import DictConfig
from torch.utils.data import DataLoader, Dataset

from baselines.config import config_dir
from baselines.data.transforms import detection_pipeline
from baselines.pipeline import run
from tasks import KITS

Compose = Callable[..., DictConfig]

# the smallest synthetic sets that still give each task a few batches, and what makes a run on them fast
TINY: dict[str, tuple[str, ...]] = {name: (*kit.tiny, *kit.fast) for name, kit in KITS.items()}


def test_every_demo_is_covered() -> None:
    assert sorted(TINY) == sorted(p.stem for p in (config_dir() / "demo").glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(TINY))
def test_same_seed_same_run_file(demo_cfg: Compose, name: str) -> None:
    short = (*TINY[name], "trainer.max_epochs=1", "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1")
    instantiate(demo_cfg(name, *short).synthetic)
    first = run(demo_cfg(name, *short, "seed=3", output="first"))
    second = run(demo_cfg(name, *short, "seed=3", output="second"))
    text = Path(first["run_file"]).read_bytes()
    assert text and text == Path(second["run_file"]).read_bytes()


class _Augmented(Dataset):
    """Eight random images through the shared training pipeline with the augmentations of the real configs."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.images = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(8)]
        augmentations = [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomBrightnessContrast(p=0.5),
            A.Affine(scale=(0.9, 1.1), rotate=(-10, 10), p=0.5),
        ]
        self.pipeline = detection_pipeline(32, augmentations, with_boxes=False)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(self.pipeline(image=self.images[index])["image"])


def _augmented_epochs(seed: int, workers: int, persistent: bool, epochs: int = 2) -> list[torch.Tensor]:
    """Every batch of `epochs` epochs of a fresh loader, seeded as `run` seeds (workers initialised as
    Lightning's trainer initialises them)."""
    pl.seed_everything(seed, workers=True)
    loader = DataLoader(
        _Augmented(),
        batch_size=4,
        shuffle=True,
        num_workers=workers,
        persistent_workers=persistent,
        worker_init_fn=pl_worker_init_function,
    )
    return [batch for _ in range(epochs) for batch in loader]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(("workers", "persistent"), [(0, False), (2, False), (2, True)])
def test_same_seed_same_augmentations(workers: int, persistent: bool) -> None:
    first = _augmented_epochs(3, workers, persistent)
    assert _same(first, _augmented_epochs(3, workers, persistent))
    assert not _same(first, _augmented_epochs(4, workers, persistent))


FLIPS = {
    "none": lambda a: a,
    "horizontal": lambda a: a[:, ::-1],
    "vertical": lambda a: a[::-1],
    "both": lambda a: a[::-1, ::-1],
}


def test_seeded_augmentations_draw_independently() -> None:
    """Both flips (p=0.5) come alone too, not only together as with one seed per transform (`Compose(seed=...)`)."""
    pl.seed_everything(3)
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    pipeline = detection_pipeline(8, [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)], with_boxes=False)
    seen = set()
    for _ in range(64):
        out = pipeline(image=image)["image"]
        seen |= {name for name, flip in FLIPS.items() if np.array_equal(out, flip(image))}
    assert seen == set(FLIPS)


def test_same_seed_same_losses_with_the_real_augmentations(demo_cfg: Compose) -> None:
    """The VQA demo with the augmentations of configs/data/vqa.yaml (the demos train without any)."""
    augmented = (
        *TINY["vqa"],
        "data.augmentations=[{_target_:albumentations.RandomBrightnessContrast,p:0.5},"
        "{_target_:albumentations.Affine,scale:[0.9,1.1],rotate:[-10,10],p:0.5}]",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=3",
        "+trainer.limit_val_batches=1",
        "predict=false",
    )
    instantiate(demo_cfg("vqa", *augmented).synthetic)
    losses = [
        run(demo_cfg("vqa", *augmented, f"seed={seed}", output=out))["metrics"]
        for seed, out in ((3, "a"), (3, "b"), (4, "c"))
    ]
    assert losses[0] == losses[1]
    assert losses[0]["train/loss"] != losses[2]["train/loss"]
