"""The base LightningDataModule every task's data module builds on.

Batches are dicts. Every sample carries `id` (the official image/CT/topic id written to the run
file) and `index` (its position in its dataset, so run files keep dataset order and predictions
gathered from several ranks can be de-duplicated).
"""

from __future__ import annotations

from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from baselines.errors import DataError, listing
from baselines.io.images import BadImagePolicy, check_images, unreadable_reason
from baselines.types import PredictionSet

Split = Literal["train", "val", "predict"]
Item = TypeVar("Item")


def collate_dicts(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stacks tensors of equal shape; keeps everything else (ids, ragged targets) as lists."""
    batch: dict[str, Any] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        first = values[0]
        if isinstance(first, torch.Tensor) and all(v.shape == first.shape for v in values):
            batch[key] = torch.stack(values)
        elif isinstance(first, (int, float)) and not isinstance(first, bool):
            batch[key] = torch.tensor(values)
        else:
            batch[key] = values
    return batch


@dataclass(frozen=True)
class Loader:
    """How a data module serves its datasets: the settings every data module shares (`data.loader`, built from
    configs/data/loader/default.yaml).

    Args:
        batch_size: Samples per batch (per device).
        num_workers: DataLoader worker processes.
        pin_memory: Page-locked host memory for faster host-to-GPU copies (used only when the trainer runs on
            an accelerator).
        persistent_workers: Keep workers alive between epochs (only with num_workers > 0).
        predict_batch_size: Batch size for validation and prediction; None: batch_size.
    """

    batch_size: int = 8
    num_workers: int = 0
    pin_memory: bool = False
    persistent_workers: bool = False
    predict_batch_size: int | None = None


class BaseDataModule(pl.LightningDataModule):
    """Builds train/val/predict datasets lazily and serves them as its `Loader` says.

    Args:
        loader: Batch sizes and loader workers; None: `Loader()`.
    """

    collate_fn: Callable[[Sequence[dict[str, Any]]], dict[str, Any]] = staticmethod(collate_dicts)

    def __init__(self, loader: Loader | None = None) -> None:
        super().__init__()
        loader = loader or Loader()
        self.batch_size = loader.batch_size
        self.num_workers = loader.num_workers
        self.pin_memory = loader.pin_memory
        self.persistent_workers = loader.persistent_workers and loader.num_workers > 0
        self.predict_batch_size = loader.predict_batch_size or loader.batch_size
        self._datasets: dict[str, Dataset] = {}
        self.skipped: dict[str, list[str]] = {}

    @abstractmethod
    def build_dataset(self, split: Split) -> Dataset:
        """Creates the dataset of one split (called at most once per split)."""

    def dataset(self, split: Split) -> Dataset:
        if split not in self._datasets:
            self._datasets[split] = self.build_dataset(split)
        return self._datasets[split]

    def prediction_set(self) -> PredictionSet:
        """The predict split's official ids in order, with the file each came from: what the run file
        written from its predictions is validated against (items skipped as unreadable are not in it).

        Predict datasets expose `ids` (in dataset order) and `files` (id -> path, empty where items
        have no file of their own).

        Raises:
            DataError: If two items have one id (a run file holds one line per id): found before training,
                not when the run file is written.
        """
        dataset = self.dataset("predict")
        ids: list[str] = dataset.ids  # type: ignore[attr-defined]
        files: dict[str, Path] = dataset.files  # type: ignore[attr-defined]
        repeated = [i for i, n in Counter(ids).items() if n > 1]
        if repeated:
            raise DataError(
                f"{len(repeated)} id(s) more than once in the predict split, which a run file cannot hold:\n"
                + listing([f"{i!r}" + (f" (one of them {files[i]})" if i in files else "") for i in repeated])
            )
        return PredictionSet(tuple(ids), dict(files), self.prediction_candidates())

    def prediction_candidates(self) -> frozenset[str] | None:
        """For retrieval tasks, the collection items a run may rank; None elsewhere."""
        return None

    def readable(
        self,
        items: Sequence[Item],
        paths: Sequence[Path],
        policy: BadImagePolicy,
        split: Split,
        reason: Callable[[Path], str | None] = unreadable_reason,
    ) -> list[Item]:
        """The items whose file (paths[i]) can be read; under policy "skip" the others are left out and
        recorded in `skipped[split]`, under "error" they stop the run (see check_images). A file several items
        share (VQA-Med 2019: four questions per image) is checked and reported once."""
        unique = list(dict.fromkeys(paths))
        keep, self.skipped[split] = check_images(unique, policy, split, reason)
        readable = {unique[k] for k in keep}
        return [item for item, path in zip(items, paths, strict=True) if path in readable]

    def train_sampler(self) -> Sampler | None:
        """A sampler for the training split (e.g. class-balanced); None shuffles uniformly."""
        return None

    def _on_accelerator(self) -> bool:
        """Whether batches go to an accelerator: the trainer's device, or (without a trainer) whether CUDA is
        there. Pinned host memory only speeds host-to-accelerator copies; under trainer=cpu torch warns about
        it on every loader, so `pin_memory` applies only here."""
        trainer = self.trainer
        if trainer is None:
            return torch.cuda.is_available()
        return trainer.strategy.root_device.type != "cpu"

    def _make_loader(
        self, dataset: Dataset, batch_size: int, shuffle: bool = False, sampler: Sampler | None = None
    ) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle and sampler is None,
            sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory and self._on_accelerator(),
            persistent_workers=self.persistent_workers,
            collate_fn=self.collate_fn,
            drop_last=False,
        )

    def _loader(self, split: Split, shuffle: bool, batch_size: int) -> DataLoader:
        sampler = self.train_sampler() if split == "train" else None
        return self._make_loader(self.dataset(split), batch_size, shuffle, sampler)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True, batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False, batch_size=self.predict_batch_size)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict", shuffle=False, batch_size=self.predict_batch_size)
