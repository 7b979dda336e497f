"""Embeddings written and read in bounded memory: a preallocated float16 .npy filled batch by batch, row ranges
read without mapping the file, and a memory budget that follows what the machine has available."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from baselines.io.atomic import atomic_write_text
from baselines.io.npy import npy_header

DISK_DTYPE = np.dtype(np.float16)
FALLBACK_BUDGET = 2 << 30  # where the available memory cannot be read (not Linux)


def available_memory() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (what can be allocated without swapping); None where unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_budget(fraction: float) -> int:
    """fraction of the memory available now, in bytes (2 GiB where it cannot be read)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"a memory fraction is between 0 and 1, not {fraction}")
    available = available_memory()
    return FALLBACK_BUDGET if available is None else int(available * fraction)


def read_rows(path: Path, start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of a 2-D .npy file as float32, read with plain file reads: a memory map would count every
    page it touched in the process's resident memory until unmapped."""
    with path.open("rb") as handle:
        shape, dtype, offset = npy_header(handle)
        stop = min(stop, shape[0])
        handle.seek(offset + start * shape[1] * dtype.itemsize)
        count = max(stop - start, 0) * shape[1]
        return np.fromfile(handle, dtype=dtype, count=count).reshape(-1, shape[1]).astype(np.float32)


def allocate_npy(path: Path, shape: tuple[int, int], dtype: np.dtype = DISK_DTYPE) -> int:
    """Creates a .npy of shape (header written, data sized as a sparse file) and returns its data offset."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    offset = int(array.offset)
    del array  # the map is closed at once: the data are written with file writes
    return offset


class EmbeddingWriter:
    """Writes embeddings batch by batch into a preallocated (capacity, D) array: a float16 .npy in folder (each batch
    written at its offset, so nothing but the batch is resident), or float32 in memory when folder is None (no cache:
    the values searched are those computed, as before the file existed).

    Rows are kept in the order they arrive; `finish` writes times.npy and meta.json (last: a folder without a complete
    meta.json is never loaded) and returns the arrays. Fewer rows than the capacity (unreadable images skipped) are
    compacted into a file of their own size.
    """

    def __init__(self, folder: str | Path | None, capacity: int) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.capacity = capacity
        self.ids: list[str] = []
        self.times: list[float] = []
        self.dim = 0
        self._memory: np.ndarray | None = None
        self._offset = 0
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / "meta.json").unlink(missing_ok=True)  # what is rewritten is no longer a complete index

    @property
    def _partial(self) -> Path:
        assert self.folder is not None
        return self.folder / "embeddings.partial.npy"

    def _allocate(self, dim: int) -> None:
        self.dim = dim
        if self.folder is None:
            self._memory = np.empty((self.capacity, dim), np.float32)
            return
        self._offset = allocate_npy(self._partial, (self.capacity, dim))

    def add(self, ids: Sequence[str], times: Sequence[float] | np.ndarray, embeddings: np.ndarray) -> None:
        """Appends one batch: ids, times and (B, D) embeddings."""
        if len(ids) != len(embeddings) or len(times) != len(ids):
            raise ValueError(f"{len(ids)} ids, {len(times)} times and {len(embeddings)} embeddings in one batch")
        if not len(ids):
            return
        if not self.dim:
            self._allocate(int(embeddings.shape[1]))
        if embeddings.ndim != 2 or embeddings.shape[1] != self.dim:
            raise ValueError(f"a batch of embeddings of shape {embeddings.shape}, the index holds {self.dim} columns")
        start = len(self.ids)
        if start + len(ids) > self.capacity:
            raise ValueError(f"more than the {self.capacity} rows the index was sized for")
        if self._memory is not None:
            self._memory[start : start + len(ids)] = embeddings
        else:
            data = np.ascontiguousarray(embeddings, dtype=DISK_DTYPE).tobytes()
            with self._partial.open("r+b") as handle:
                handle.seek(self._offset + start * self.dim * DISK_DTYPE.itemsize)
                handle.write(data)
        self.ids.extend(ids)
        self.times.extend(float(t) for t in times)

    def finish(self, key: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(ids, embeddings, times): the embeddings memory-mapped from the folder, or the array in memory."""
        rows = len(self.ids)
        times = np.asarray(self.times, np.float64)
        if self.folder is None:
            if self._memory is None:
                raise ValueError("no embedding was written")
            return self.ids, self._memory[:rows], times
        final = self.folder / "embeddings.npy"
        if not rows:  # a shard whose images were all unreadable: an empty part to merge
            np.save(final, np.zeros((0, 0), DISK_DTYPE))
        elif rows == self.capacity:
            self._partial.replace(final)
        else:
            _copy_prefix(self._partial, final, rows, self.dim)
            self._partial.unlink()
        np.save(self.folder / "times.npy", times)
        atomic_write_text(self.folder / "meta.json", json.dumps({"ids": self.ids, "key": key}) + "\n")
        return self.ids, np.load(final, mmap_mode="r" if rows else None), times


def _copy_prefix(source: Path, target: Path, rows: int, dim: int) -> None:
    """target = the first rows of the 2-D .npy source, copied in bounded chunks."""
    with source.open("rb") as handle:
        _, dtype, offset = npy_header(handle)
    target_offset = allocate_npy(target, (rows, dim), dtype)
    with source.open("rb") as read, target.open("r+b") as write:
        read.seek(offset)
        write.seek(target_offset)
        copy_bytes(read, write, rows * dim * dtype.itemsize)


def copy_bytes(read: BinaryIO, write: BinaryIO, length: int, chunk: int = 64 << 20) -> None:
    """length bytes from read to write, chunk by chunk."""
    while length > 0:
        data = read.read(min(chunk, length))
        if not data:
            raise ValueError(f"{read.name} ended {length} bytes early")
        write.write(data)
        length -= len(data)


def file_stamp(path: Path) -> dict[str, int]:
    """Size and modification time (ns) of a file, what a record of what an index was built from holds of it."""
    info = os.stat(path)
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}
