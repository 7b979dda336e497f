"""Tabular data for the lifelog SPLL baseline: one row of features per participant.

Formats [assumption: the 2020 SPLL files are per-day logs; aggregate them into one row per participant]:
`features.csv` with a header `participant_id,<feature>,...` and `targets.csv` with `participant_id,target`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from baselines.data.base import BaseDataModule, Loader, Split
from baselines.errors import FormatError, Problem
from baselines.io.formats.tabular import read_table


class TableDataset(Dataset):
    def __init__(self, ids: Sequence[str], features: np.ndarray, targets: np.ndarray | None) -> None:
        self.ids = list(ids)
        self.features = torch.from_numpy(features)
        self.targets = None if targets is None else torch.from_numpy(targets)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def files(self) -> dict[str, Path]:
        return {}  # a participant is a row of a table, not a file

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample: dict[str, Any] = {"id": self.ids[index], "index": index, "features": self.features[index]}
        if self.targets is not None:
            sample["target"] = self.targets[index]
        return sample


class TabularDataModule(BaseDataModule):
    """Features standardised with the training statistics; one target per participant.

    Args:
        train_features, train_targets: Training tables.
        predict_features: Features of the participants to predict.
        val_fraction: Share of training rows held out.
        split_seed: Seed of that split.
        loader: Batch sizes and loader workers (see BaseDataModule).
    """

    def __init__(
        self,
        train_features: str,
        train_targets: str,
        predict_features: str,
        val_fraction: float = 0.2,
        split_seed: int = 0,
        loader: Loader | None = None,
    ) -> None:
        super().__init__(loader)
        self.train_features, self.train_targets, self.predict_features = train_features, train_targets, predict_features
        self.val_fraction = val_fraction
        self.split_seed = split_seed

    @property
    def num_features(self) -> int:
        return len(read_table(self.train_features)[0])

    def build_dataset(self, split: Split) -> Dataset:
        columns, train = read_table(self.train_features)
        _, targets = read_table(self.train_targets)
        missing = sorted(set(train) - set(targets))
        if missing:
            raise FormatError([Problem(self.train_targets, None, f"no target for {', '.join(missing[:5])}")])
        ids = sorted(train)
        matrix = np.stack([train[i] for i in ids])
        mean, std = matrix.mean(0), matrix.std(0) + 1e-6
        if split == "predict":
            predict_columns, rows = read_table(self.predict_features)
            if predict_columns != columns:
                raise FormatError(
                    [Problem(self.predict_features, 1, f"columns {predict_columns} differ from {columns}")]
                )
            names = list(rows)
            return TableDataset(names, (np.stack([rows[i] for i in names]) - mean) / std, None)
        order = np.random.default_rng(self.split_seed).permutation(len(ids))
        held = set(order[: max(1, round(len(ids) * self.val_fraction))].tolist())
        chosen = [k for k in range(len(ids)) if (k in held) == (split == "val")]
        return TableDataset(
            [ids[k] for k in chosen],
            ((matrix[chosen] - mean) / std).astype(np.float32),
            np.array([targets[ids[k]][0] for k in chosen], np.float32),
        )
