"""The header of a .npy array, read alone: its shape and dtype are checked before a byte of data is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np


def npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of the .npy array handle is at the start of.

    Raises:
        ValueError: Not a .npy header (numpy's message), or one longer than 10,000 bytes.
    """
    version = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(handle, max_header_size=10_000)
    return tuple(int(n) for n in shape), dtype, handle.tell()


def npy_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """What the data of an array of shape and dtype take."""
    return int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def npy_file(path: str | Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, the file's length in bytes as its header implies) of a .npy file, nothing loaded: a file of
    another length is truncated or padded.

    Raises:
        OSError: The file cannot be read.
        ValueError: Not a .npy header (`npy_header`).
    """
    with open(path, "rb") as handle:
        shape, dtype, offset = npy_header(handle)
    return shape, dtype, offset + npy_bytes(shape, dtype)
