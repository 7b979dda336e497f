"""A collection's embeddings computed in shards (one process, GPU or node each) and merged into one index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from baselines.io.atomic import atomic_write_text
from baselines.io.npy import npy_header
from baselines.retrieval.index import EmbeddingIndex
from baselines.retrieval.store import DISK_DTYPE, allocate_npy, copy_bytes


def shard_folder(folder: str | Path, shard: int, shards: int) -> Path:
    """Where shard `shard` of `shards` of the index in folder is written."""
    return Path(folder) / "shards" / f"{shard:05d}-of-{shards:05d}"


def shard_rows(count: int, shard: int, shards: int) -> range:
    """The contiguous rows of a collection of count items that shard `shard` of `shards` embeds."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} of {shards}: a shard is numbered 0 to {shards - 1}")
    return range(count * shard // shards, count * (shard + 1) // shards)


def merge_shards(folder: str | Path, shards: int, key: str) -> None:
    """Concatenates the shards written under folder (each an index folder with key `shard_key(key, s, shards)`) into
    the index of folder, in shard order, copying the embeddings in bounded chunks; the shards are then deleted.

    Raises:
        ValueError: A shard is missing, incomplete, made with another key or with another number of columns.
    """
    folder = Path(folder)
    parts = []
    for shard in range(shards):
        part = EmbeddingIndex.load(shard_folder(folder, shard, shards), shard_key(key, shard, shards))
        if part is None:
            raise ValueError(f"{shard_folder(folder, shard, shards)}: shard {shard} of {shards} is missing or stale")
        parts.append(part)
    dims = {int(part.embeddings.shape[1]) for part in parts if len(part.ids)}
    if len(dims) != 1:
        raise ValueError(f"the shards under {folder / 'shards'} hold embeddings of {sorted(dims) or 'no'} columns")
    (folder / "meta.json").unlink(missing_ok=True)
    rows, dim = sum(len(part.ids) for part in parts), dims.pop()
    partial = folder / "embeddings.partial.npy"
    offset = allocate_npy(partial, (rows, dim))
    with partial.open("r+b") as write:
        write.seek(offset)
        for shard, part in enumerate(parts):
            source = shard_folder(folder, shard, shards) / "embeddings.npy"
            with source.open("rb") as read:
                npy_header(read)
                copy_bytes(read, write, len(part.ids) * dim * DISK_DTYPE.itemsize)
    partial.replace(folder / "embeddings.npy")
    np.save(folder / "times.npy", np.concatenate([np.asarray(part.times, np.float64) for part in parts]))
    ids = [image_id for part in parts for image_id in part.ids]
    atomic_write_text(folder / "meta.json", json.dumps({"ids": ids, "key": key}) + "\n")
    del parts
    shutil.rmtree(folder / "shards")


def shard_key(key: str, shard: int, shards: int) -> str:
    """The key of one shard of the index with key `key`: a shard of another split is never merged."""
    return f"{key}|shard {shard} of {shards}"
