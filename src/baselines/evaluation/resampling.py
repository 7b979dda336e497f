"""A run's scores over many bootstrap resamples of its test items at once (`baselines compare`).

A task's `resampling` computes what its scores need from each test item once (`ItemSums`: per-item
values whose sums the metrics are made of; `PerResample`: per-resample inputs such as AUCs or corpus
statistics, finished by `score`'s own last step; region tasks: COCOeval's per-image matches), and then
scores every resample from those arrays, instead of cutting the run and the reference down to each
resample and scoring that from scratch (`TaskSpec.restrict`). Both give the same numbers to the last
bit: tests/test_compare.py pins the intervals and p-values of the per-resample rescoring.

Resamples are rows of item indices in draw order (`draws`, resamples x items): an item drawn twice
counts twice, and sums are taken in draw order (`np.cumsum`, which adds one after the other as the
official evaluators' loops do; `np.sum`'s pairwise summation could differ in the last bit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

BLOCK = 1 << 22
"""Drawn values summed at once (resamples x items): bounds the memory of a block at 32 MiB per array."""


class Resampling(Protocol):
    """One run's scores on resamples of its test items."""

    def scores(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        """draws: (resamples, items) item indices in draw order -> metric -> (resamples,) values (NaN where
        a resample has none)."""
        ...

    def whole(self) -> dict[str, float] | None:
        """The scores of all the items, each once, equal to `score`'s on them, when they come without more
        work (a region task's matches); None: the bootstrap asks `score`."""
        ...


@dataclass(frozen=True)
class ItemSums:
    """Metrics that are functions of sums over the items (means, pooled counts).

    Attributes:
        values: name -> (items,) per-item values; each resample sums them over its draws, in draw order.
        finish: (name -> (resamples,) sums, items drawn per resample) -> metric -> (resamples,) values.
    """

    values: Mapping[str, np.ndarray]
    finish: Callable[[dict[str, np.ndarray], int], dict[str, np.ndarray]]

    def scores(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        resamples, items = draws.shape
        rows = max(1, BLOCK // max(items, 1))
        sums = {name: np.zeros(resamples, np.asarray(values).dtype) for name, values in self.values.items()}
        for start in range(0, resamples, rows):
            block = draws[start : start + rows]
            for name, values in self.values.items():
                drawn = np.asarray(values)[block]
                sums[name][start : start + rows] = np.cumsum(drawn, axis=1)[:, -1] if items else 0
        return self.finish(sums, items)

    def whole(self) -> None:
        return None


def rounded(values: np.ndarray, digits: int) -> np.ndarray:
    """Python's `round(value, digits)` of each value (correctly rounded; `np.round` scales by 10**digits
    and can differ in the last digit), as the evaluators that round do."""
    return np.asarray([round(float(value), digits) for value in values], np.float64)


@dataclass(frozen=True)
class PerResample:
    """Metrics whose last step is cheap but not a sum (a mean or min over labels, a corpus score from its
    statistics): per-resample inputs computed for all resamples at once, then finished one resample at a
    time by the very function `score` finishes with, so the two cannot drift apart.

    Attributes:
        inputs: draws -> (resamples, k) array, row r what resample r's finish takes.
        finish: one row -> metric -> value.
    """

    inputs: Callable[[np.ndarray], np.ndarray]
    finish: Callable[[list[float]], Mapping[str, float]]

    def scores(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        rows = [self.finish(row) for row in self.inputs(draws).tolist()]
        return {metric: np.asarray([row[metric] for row in rows], np.float64) for metric in rows[0]} if rows else {}

    def whole(self) -> None:
        return None


def integer_sums(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """(resamples, k): each resample's sums of integer per-item values (items, k) over its draws (exact in
    any order, being whole numbers): the draw counts of each item times the values."""
    resamples, drawn = draws.shape
    items = len(values)
    out = np.zeros((resamples, values.shape[1]), np.int64)
    rows = max(1, BLOCK // max(items, drawn, 1))
    for start in range(0, resamples, rows):
        block = draws[start : start + rows]
        cells = (np.arange(len(block))[:, None] * items + block).ravel()
        counts = np.bincount(cells, minlength=len(block) * items).reshape(len(block), items)
        out[start : start + rows] = counts @ values.astype(np.int64)
    return out
