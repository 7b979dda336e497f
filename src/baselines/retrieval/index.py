"""A persistent embedding index: L2-normalised embeddings (memory-mapped .npy) + ids + times, exact
cosine top-k by chunked matrix products. The time-aware MMR re-ranking of the results for diverse moments
is `baselines.ensemble.mmr.temporal_mmr`.

Approximate (faiss) indexes over the same embeddings: `baselines.retrieval.ann`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.io.npy import npy_file
from baselines.retrieval.store import EmbeddingWriter, memory_budget, read_rows

log = logging.getLogger(__name__)


@dataclass
class EmbeddingIndex:
    """Attributes:
    ids: Item ids, one per row.
    embeddings: (N, D) L2-normalised rows (a numpy memmap when loaded from disk).
    times: (N,) seconds, for time-aware re-ranking.
    key: What the embeddings were computed with (model, weights, the images' paths, sizes and mtimes); a cache with
        another key is stale.
    resident_fraction: The share of the memory available at the first search that a resident copy of the index
        (in the queries' dtype) may take; a larger index is streamed from disk in chunks.
    source: The embeddings.npy the rows were loaded from (None: held in memory).
    """

    ids: list[str]
    embeddings: np.ndarray
    times: np.ndarray
    key: str = ""
    resident_fraction: float = 0.5
    source: Path | None = None
    _resident: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)
    _budget: int | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) as float32, read from the file without mapping it when there is one."""
        if self.source is not None:
            return read_rows(self.source, start, stop)
        return np.asarray(self.embeddings[start:stop], np.float32)

    def save(self, folder: str | Path, chunk: int = 65536) -> Path:
        """Writes the index to folder: embeddings.npy (float16), times.npy, meta.json (last)."""
        writer = EmbeddingWriter(folder, len(self.ids))
        for start in range(0, len(self.ids), chunk):
            stop = start + chunk
            writer.add(self.ids[start:stop], self.times[start:stop], np.asarray(self.embeddings[start:stop]))
        writer.finish(self.key)
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path, key: str | None = None) -> EmbeddingIndex | None:
        """The index saved in folder, memory-mapped; None if absent, computed with another key, or bad.

        Everything is checked before it is used: meta.json holds a list of text ids and the key; embeddings.npy
        (N, D) float16 and times.npy (N,) float64, N being the number of ids, each file as long as its header
        says. A stale or bad index is deleted with a warning naming why (the caller builds a new one).
        """
        folder = Path(folder)
        if not (folder / "meta.json").is_file():
            return None
        problem, meta = _check(folder)
        if problem is None and key is not None and meta["key"] != key:
            problem = "computed with other weights or from other images (its key differs)"
        if problem is not None:
            log.warning("the embedding index in %s is not used (%s): deleted, to be rebuilt", folder, problem)
            for name in _FILES:  # meta.json first: a folder without it is never loaded
                (folder / name).unlink(missing_ok=True)
            return None
        source = folder / "embeddings.npy"
        embeddings = np.load(source, mmap_mode="r" if meta["ids"] else None)  # an empty file cannot be mapped
        return cls(meta["ids"], embeddings, np.load(folder / "times.npy"), meta["key"], source=source)

    def search(
        self, queries: torch.Tensor, k: int, chunk: int = 65536, resident_bytes: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact cosine top-k of L2-normalised (Q, D) queries; returns (scores, row indices), each (Q, k).

        An index of at most resident_bytes (in the queries' dtype; default: `resident_fraction` of the memory
        available at the first search) is converted once and kept on the queries' device, so each later search is
        one matrix product (200k x 512 in fp32: 400 MB). A larger one is streamed in chunks of rows, so a
        memory-mapped index larger than RAM works.
        """
        k = min(k, len(self.ids))
        device, dtype = queries.device, queries.dtype
        if resident_bytes is None:
            if self._budget is None:  # decided once, so one run does not switch between the two ways
                self._budget = memory_budget(self.resident_fraction)
            resident_bytes = self._budget
        if self.embeddings.size * queries.element_size() <= resident_bytes:
            top = (queries @ self._resident_matrix(device, dtype, chunk).T).topk(k, dim=1)
            return top.values.float(), top.indices
        best_scores = torch.full((len(queries), 0), -2.0, device=device)
        best_rows = torch.zeros((len(queries), 0), dtype=torch.long, device=device)
        for start in range(0, len(self.ids), chunk):
            block = torch.from_numpy(self.rows(start, start + chunk)).to(device, dtype)
            scores = queries @ block.T
            top = scores.topk(min(k, scores.shape[1]), dim=1)
            best_scores = torch.cat([best_scores, top.values.float()], 1)
            best_rows = torch.cat([best_rows, top.indices + start], 1)
            keep = best_scores.topk(min(k, best_scores.shape[1]), dim=1)
            best_scores, best_rows = keep.values, best_rows.gather(1, keep.indices)
        return best_scores, best_rows

    def _resident_matrix(self, device: torch.device, dtype: torch.dtype, chunk: int) -> torch.Tensor:
        cached = self._resident
        if cached is None or cached.device != device or cached.dtype != dtype:
            self._resident = None  # the old copy is freed before the new one is filled
            # filled chunk by chunk: no whole-index float16 copy on the way
            cached = torch.empty(self.embeddings.shape, dtype=dtype, device=device)
            for start in range(0, len(self.ids), chunk):
                cached[start : start + chunk] = torch.from_numpy(self.rows(start, start + chunk)).to(device, dtype)
            self._resident = cached
        return cached


_FILES = ("meta.json", "embeddings.npy", "times.npy")


def _check(folder: Path) -> tuple[str | None, dict[str, Any]]:
    """(why the saved index cannot be used or None, its meta.json)."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"unreadable meta.json ({exc})", {}
    ids = meta.get("ids") if isinstance(meta, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not isinstance(meta.get("key"), str):
        return "meta.json holds no list of ids and key", {}
    for name, kind, rank in (("embeddings.npy", "f", 2), ("times.npy", "f", 1)):
        try:
            shape, dtype, length = npy_file(folder / name)
        except (OSError, ValueError) as exc:
            return f"{name}: not a readable array ({exc})", meta
        if len(shape) != rank or dtype.kind != kind or shape[0] != len(ids):
            return f"{name} holds {shape} {dtype} for {len(ids)} ids", meta
        if (folder / name).stat().st_size != length:
            return f"{name} is truncated (its header says {shape} {dtype})", meta
    return None, meta
