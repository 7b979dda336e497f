"""ImageCLEF 2020 tuberculosis CT report data: NIfTI volumes, lung masks, per-lung labels.

Layout: `<ct_dir>/CTR_TRN_001.nii.gz`, lung masks of the same name in `<mask_dir>` (the official
`masks1` or `masks2` version; two values, one per lung), labels in the released CSV
(`Filename,LeftLungAffected,RightLungAffected,CavernsLeft,CavernsRight,PleurisyLeft,PleurisyRight`).

Preprocessing per CT: both arrays are put in the canonical RAS+ orientation with the CT's affine (so
axis 0 runs from the patient's left to right, whatever the file's voxel order), each lung is found
(by default: the mask value whose voxels lie more to the patient's left is the left lung; see
`baselines.io.lungs`), cropped to its mask's bounding box (plus a margin), HU-windowed to [0, 1], the
right lung mirrored left-right so one network sees every lung the same way round, and resized to `size`.
Results are cached on disk, named by each file's path, size and modification time and the settings; each entry
records what it was made from (contents hashed) and is checked on every hit, so a hit opens no NIfTI file and a
stale or bad entry is rebuilt, never used (`cached_ct`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Sampler, WeightedRandomSampler

from baselines.data.base import BaseDataModule, Loader, Split
from baselines.io.atomic import atomic_write_text
from baselines.io.formats.tuberculosis import FINDINGS, LABELS, list_volumes, lung_label_order, read_labels
from baselines.io.images import BadImagePolicy
from baselines.io.lungs import MAX_CT_VOXELS, LungPreprocessing, locate_lungs, read_canonical
from baselines.io.npy import npy_file

log = logging.getLogger(__name__)
CACHE_VERSION = 3  # bump when preprocess_ct changes what it computes (2: RAS+ reorientation, laterality; 3: records)


def preprocess_ct(volume: Path, mask: Path, settings: LungPreprocessing, max_voxels: int = MAX_CT_VOXELS) -> np.ndarray:
    """Both lungs of one CT as a (2, D, H, W) float16 array in [0, 1], left first, right mirrored.

    Axes of each lung are RAS+ (left-right, posterior-anterior, inferior-superior), whatever the voxel order
    of the file: a CT stored LAS gives the same lungs as its RAS copy. A file whose header claims more than
    max_voxels voxels is refused before it is read.
    """
    ct, lungs = read_canonical(volume, mask, max_voxels)
    low, high = settings.window
    scaled = np.clip((ct - low) / (high - low), 0, 1)
    out = []
    for side, lung in enumerate(locate_lungs(lungs, mask, settings)):
        box = lung.box(settings.margin)
        crop = scaled[box] * ((lungs[box] == lung.value) if settings.mask_outside else 1)
        if side == 1:
            crop = crop[::-1]  # RAS+ axis 0 is left-right: mirror the right lung onto the left
        tensor = torch.from_numpy(np.ascontiguousarray(crop, np.float32))[None, None]
        out.append(F.interpolate(tensor, size=settings.size, mode="trilinear", align_corners=False)[0, 0])
    return torch.stack(out).numpy().astype(np.float16)


def cache_key(volume: Path, mask: Path, settings: LungPreprocessing) -> str:
    """Names a preprocessed CT by each file's absolute path, size and modification time (ns) and the settings,
    from `stat` alone. What an entry was made from is also recorded beside it, contents included, and checked on
    every hit (`cached_ct`): a file rewritten with the same size and mtime is caught there."""
    digest = hashlib.sha256(json.dumps({**settings.__dict__, "version": CACHE_VERSION}, sort_keys=True).encode())
    for path in (volume, mask):
        info = os.stat(path)
        digest.update(f"{Path(path).resolve()}|{info.st_size}|{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


# (path, size, mtime) -> sha256 of files this process has hashed: a CT is hashed once per process, not per epoch
_HASHED: dict[tuple[str, int, int], str] = {}


def _source(path: Path) -> dict[str, Any]:
    """What a cache entry records of one source file: path, size, mtime (ns) and the sha256 of its contents."""
    info = os.stat(path)
    resolved = str(Path(path).resolve())
    stamp = (resolved, info.st_size, info.st_mtime_ns)
    if stamp not in _HASHED:
        with open(path, "rb") as handle:
            _HASHED[stamp] = hashlib.file_digest(handle, "sha256").hexdigest()
    return {"path": resolved, "size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": _HASHED[stamp]}


def _entry_problem(target: Path, record: Path, expected: dict[str, Any]) -> str | None:
    """Why a cache entry cannot be used (None: it is what `expected` says it must be, checked before loading)."""
    if not record.is_file():
        return "no record of what it was made from"
    try:
        recorded = json.loads(record.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"unreadable record ({exc})"
    for key in ("sources", "settings", "shape", "dtype"):
        if recorded.get(key) != expected[key]:
            return f"made from other {key} ({str(recorded.get(key))[:200]}, now {str(expected[key])[:200]})"
    try:
        shape, dtype, length = npy_file(target)
    except (OSError, ValueError) as exc:
        return f"not a .npy array ({exc})"
    if [list(shape), str(dtype)] != [expected["shape"], expected["dtype"]]:
        return f"holds {shape} {dtype}, not {tuple(expected['shape'])} {expected['dtype']}"
    if target.stat().st_size != length:
        return "truncated or padded"
    return None


def cached_ct(
    volume: Path, mask: Path, settings: LungPreprocessing, cache_dir: Path | None, max_voxels: int = MAX_CT_VOXELS
) -> np.ndarray:
    """`preprocess_ct`, memoised on disk.

    An entry is `<ct>-<cache_key>.npy` and, beside it, `.json`: the sources it was made from (path, size, mtime,
    sha256 of the contents, for the CT and its mask), the settings, and the array's shape and dtype. A hit is used
    only if all of them match (the array's from its header, before loading); a bad or stale entry (planted, of
    another shape, truncated, made from a CT since rewritten) is deleted and rebuilt, with a warning.
    """
    if cache_dir is None:
        return preprocess_ct(volume, mask, settings, max_voxels)
    target = cache_dir / f"{volume.name.split('.')[0]}-{cache_key(volume, mask, settings)}.npy"
    record = target.with_suffix(".json")
    expected = {
        "sources": [_source(volume), _source(mask)],
        "settings": json.loads(json.dumps({**settings.__dict__, "version": CACHE_VERSION})),
        "shape": [2, *settings.size],
        "dtype": "float16",
    }
    if target.is_file() or record.is_file():
        problem = _entry_problem(target, record, expected) if target.is_file() else "no array"
        if problem is None:
            try:
                return np.load(target)
            except (OSError, ValueError) as exc:
                problem = f"unreadable ({exc})"
        log.warning("cache entry %s of %s is not used (%s): deleted and rebuilt", target, volume, problem)
        for path in (record, target):
            path.unlink(missing_ok=True)
    array = preprocess_ct(volume, mask, settings, max_voxels)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(temporary, array)
    temporary.replace(target)  # atomic: parallel workers never read a half-written file
    atomic_write_text(record, json.dumps(expected, indent=1) + "\n")  # last: an entry without it is never used
    return array


class CTDataset(Dataset):
    """Yields `{"id", "index", "volume" (2, 1, D, H, W), "target" (2, 3) per lung and finding}`."""

    def __init__(
        self,
        cts: Sequence[Path],
        mask_dir: Path,
        settings: LungPreprocessing,
        cache_dir: Path | None,
        labels: dict[str, np.ndarray] | None,
        order: Sequence[tuple[int, int]],
        flip_p: float = 0.0,
        max_voxels: int = MAX_CT_VOXELS,
    ) -> None:
        self.cts = list(cts)
        self.max_voxels = max_voxels
        self.mask_dir = mask_dir
        self.settings = settings
        self.cache_dir = cache_dir
        self.labels = labels
        self.order = list(order)
        self.flip_p = flip_p

    def __len__(self) -> int:
        return len(self.cts)

    @property
    def ids(self) -> list[str]:
        return [ct.name for ct in self.cts]

    @property
    def files(self) -> dict[str, Path]:
        return {ct.name: ct for ct in self.cts}

    def per_lung(self, flat: np.ndarray) -> np.ndarray:
        target = np.zeros((2, len(FINDINGS)), np.float32)
        for value, (lung, finding) in zip(flat, self.order, strict=True):
            target[lung, finding] = value
        return target

    def __getitem__(self, index: int) -> dict[str, Any]:
        ct = self.cts[index]
        mask = self.mask_dir / ct.name
        if not mask.is_file():
            raise FileNotFoundError(f"{ct}: no lung mask {mask}")
        array = cached_ct(ct, mask, self.settings, self.cache_dir, self.max_voxels)
        volume = torch.from_numpy(array.astype(np.float32))[:, None]
        if self.flip_p and torch.rand(()) < self.flip_p:
            volume = volume.flip(-1)  # front-back flip: a lung stays a lung of its side
        sample: dict[str, Any] = {"id": ct.name, "index": index, "volume": volume}
        if self.labels is not None:
            sample["target"] = torch.from_numpy(self.per_lung(self.labels[ct.name]))
        return sample


class TuberculosisDataModule(BaseDataModule):
    """CTs with lung masks and per-lung labels; one sample per CT holding both lungs.

    Args:
        train_cts, train_masks, train_labels: Training CT folder, its mask folder and label CSV.
        predict_cts, predict_masks: CTs to write a run file for, and their masks.
        labels: Label columns, in run-file order.
        val_fraction: Share of training CTs held out for validation.
        size, window, margin, mask_outside: See LungPreprocessing.
        left_value, right_value: Mask values of the left and right lung; None (default): decided per CT from
            its affine (see LungPreprocessing).
        cache_dir: Where preprocessed lungs are cached (None: no cache).
        flip_p: Probability of a front-back flip in training.
        balanced_sampling: Draw training CTs with weights favouring rare positive labels.
        split_seed: Seed of the train/val split.
        on_bad_image: "error" (default) stops before training or prediction, listing every CT that is
            unreadable, has no or a mismatched lung mask; "skip" leaves those out and reports them.
        max_ct_voxels: A CT or mask whose header claims more voxels is refused before it is read.
        loader: Batch sizes and loader workers (see BaseDataModule).
    """

    def __init__(
        self,
        train_cts: str,
        train_masks: str,
        train_labels: str,
        predict_cts: str,
        predict_masks: str,
        labels: Sequence[str] = LABELS,
        val_fraction: float = 0.15,
        size: Sequence[int] = (64, 96, 96),
        window: Sequence[float] = (-1000.0, 400.0),
        margin: int = 4,
        mask_outside: bool = False,
        left_value: int | None = None,
        right_value: int | None = None,
        cache_dir: str | None = None,
        flip_p: float = 0.5,
        balanced_sampling: bool = False,
        split_seed: int = 0,
        on_bad_image: BadImagePolicy = "error",
        max_ct_voxels: int = MAX_CT_VOXELS,
        loader: Loader | None = None,
    ) -> None:
        super().__init__(loader)
        self.train_cts, self.train_masks, self.train_labels = Path(train_cts), Path(train_masks), train_labels
        self.predict_cts, self.predict_masks = Path(predict_cts), Path(predict_masks)
        self.labels = tuple(labels)
        self.order = lung_label_order(self.labels)
        self.val_fraction = val_fraction
        if len(size) != 3 or len(window) != 2:
            raise ValueError(f"size needs 3 values (D, H, W) and window 2 (low, high HU); got {size}, {window}")
        self.settings = LungPreprocessing(
            (int(size[0]), int(size[1]), int(size[2])),
            (float(window[0]), float(window[1])),
            margin,
            mask_outside,
            left_value,
            right_value,
        )
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.flip_p = flip_p
        self.balanced_sampling = balanced_sampling
        self.split_seed = split_seed
        self.on_bad_image: BadImagePolicy = on_bad_image
        self.max_ct_voxels = int(max_ct_voxels)

    def volume_problem(self, ct: Path, mask_dir: Path) -> str | None:
        """Why a CT cannot be used (no mask, unreadable, shapes differ, a lung missing), or None.

        It runs (and so caches, with a cache_dir) the preprocessing a training step would run."""
        if not ct.is_file():
            return "file not found"
        mask = mask_dir / ct.name
        if not mask.is_file():
            return f"no lung mask {mask}"
        try:
            cached_ct(ct, mask, self.settings, self.cache_dir, self.max_ct_voxels)
        except (OSError, ValueError) as exc:
            return str(exc).removeprefix(f"{ct}: ")
        return None

    def build_dataset(self, split: Split) -> Dataset:
        if split == "predict":
            cts = self._usable(list_volumes(self.predict_cts), self.predict_masks, split)
            return CTDataset(
                cts, self.predict_masks, self.settings, self.cache_dir, None, self.order, 0.0, self.max_ct_voxels
            )
        labels = read_labels(self.train_labels, self.labels)
        available = {p.name: p for p in list_volumes(self.train_cts)}
        missing = sorted(set(labels) - set(available))
        # reported by _usable with every unreadable CT (or skipped, under on_bad_image=skip)
        available.update({name: self.train_cts / name for name in missing})
        names = sorted(labels)
        order = np.random.default_rng(self.split_seed).permutation(len(names))
        held = set(order[: max(1, round(len(names) * self.val_fraction))].tolist())
        chosen = [available[n] for i, n in enumerate(names) if (i in held) == (split == "val")]
        chosen = self._usable(chosen, self.train_masks, split)
        flip = self.flip_p if split == "train" else 0.0
        return CTDataset(
            chosen, self.train_masks, self.settings, self.cache_dir, labels, self.order, flip, self.max_ct_voxels
        )

    def _usable(self, cts: list[Path], mask_dir: Path, split: Split) -> list[Path]:
        return self.readable(cts, cts, self.on_bad_image, split, lambda ct: self.volume_problem(ct, mask_dir))

    def train_sampler(self) -> Sampler | None:
        if not self.balanced_sampling:
            return None
        dataset = self.dataset("train")
        assert isinstance(dataset, CTDataset) and dataset.labels is not None
        matrix = np.stack([dataset.labels[p.name] for p in dataset.cts])
        rarity = 1.0 / np.maximum(matrix.sum(0), 1)
        weights = [(float((row * rarity).max()) if row.any() else float(rarity.min())) for row in matrix]
        return WeightedRandomSampler(weights, num_samples=len(weights), replacement=True)
