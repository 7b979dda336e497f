"""Synthetic chest CTs as real NIfTI files: a body with two lungs, their masks (1 = left, 2 = right),
and per-lung findings drawn in (affected: dense nodules; caverns: an air sphere with a dense wall;
pleurisy: a dense band along the lung's outer wall), with the label CSV as released (`Filename,...`).
Every second CT is stored left-right flipped with a matching affine (LAS instead of RAS), as real
files come in different voxel orders: the preprocessing must read both the same way round."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from baselines.io.atomic import atomic_write_text
from baselines.io.formats.tuberculosis import LABELS


def _ball(shape: tuple[int, int, int], center: np.ndarray, radius: float) -> np.ndarray:
    grid = np.stack(np.meshgrid(*(np.arange(s) for s in shape), indexing="ij"), -1)
    return np.linalg.norm(grid - center, axis=-1) <= radius


def render_ct(rng: np.random.Generator, size: int = 48) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """One CT (HU, int16), its lung mask (uint8) and labels, in RAS+ voxel order: axis 0 runs from the
    patient's left to right (left lung at low x)."""
    shape = (size, size, size)
    ct = rng.normal(40, 20, shape)  # soft tissue
    x, y, z = np.meshgrid(*(np.linspace(-1, 1, size) for _ in range(3)), indexing="ij")
    ct[(x**2 + y**2) > 0.95] = -1000  # air outside the body
    mask = np.zeros(shape, np.uint8)
    labels: dict[str, int] = {}
    for value, side, cx in ((1, "Left", -0.42), (2, "Right", 0.42)):
        lung = ((x - cx) / 0.33) ** 2 + (y / 0.55) ** 2 + (z / 0.8) ** 2 <= 1
        mask[lung] = value
        ct[lung] = rng.normal(-820, 30, int(lung.sum()))
        voxels = np.argwhere(lung)
        affected = bool(rng.random() < 0.6)
        caverns = affected and bool(rng.random() < 0.5)
        pleurisy = bool(rng.random() < 0.35)
        if affected:
            for center in voxels[rng.choice(len(voxels), 6)]:
                ct[_ball(shape, center, 1.6) & lung] = rng.normal(60, 10)
        if caverns:
            center = voxels[rng.integers(len(voxels))]
            ct[_ball(shape, center, 4.5) & lung] = 80
            ct[_ball(shape, center, 3.0) & lung] = -1000
        if pleurisy:
            outer = lung & (np.abs(x - cx * 1.9) < 0.22)
            ct[outer] = rng.normal(30, 10, int(outer.sum()))
        labels[f"{side}LungAffected"] = int(affected)
        labels[f"Caverns{side}"] = int(caverns)
        labels[f"Pleurisy{side}"] = int(pleurisy)
    return ct.astype(np.int16), mask, labels


# The layout of configs/data/tuberculosis.yaml under `$DATA/tuberculosis/` (docs/tasks/tuberculosis.md), per
# split tag (TRN, TST): the CTs, the two mask versions (each named as its CT) and the labels CSV (on TST the
# ground truth, never released, named by analogy).
CTS, MASKS1, MASKS2, LABEL_CSV = "CTR_{tag}_data", "CTR_{tag}_masks1", "CTR_{tag}_masks2", "CTR_{tag}_labels.csv"


def generate(root: str | Path, n_train: int = 48, n_test: int = 16, seed: int = 0, size: int = 48) -> Path:
    """Writes the tuberculosis layout under root (`$DATA/tuberculosis`): `CTR_{TRN,TST}_data/`,
    `CTR_{TRN,TST}_masks1/`, `CTR_{TRN,TST}_masks2/` (files `CTR_{TRN,TST}_NNN.nii.gz`) and
    `CTR_{TRN,TST}_labels.csv`.

    masks2 is masks1 eroded by one voxel, standing in for the second official mask version.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    ras = np.diag([1.5, 1.5, 2.5, 1.0])
    las = ras.copy()
    las[0, 0], las[0, 3] = -1.5, 1.5 * (size - 1)  # voxel i of the flipped array is voxel size-1-i of the RAS one
    for count, tag in ((n_train, "TRN"), (n_test, "TST")):
        rows = ["Filename," + ",".join(LABELS)]
        folders = [root / pattern.format(tag=tag) for pattern in (CTS, MASKS1, MASKS2)]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, count + 1):
            name = f"CTR_{tag}_{i:03d}.nii.gz"
            ct, mask, labels = render_ct(rng, size)
            eroded = (mask * (np.roll(mask, 1, 0) == mask) * (np.roll(mask, -1, 0) == mask)).astype(np.uint8)
            affine = ras if i % 2 else las
            if affine is las:
                ct, mask, eroded = ct[::-1], mask[::-1], eroded[::-1]
            for folder, array in zip(folders, (ct, mask, eroded), strict=True):
                nib.save(nib.Nifti1Image(np.ascontiguousarray(array), affine), str(folder / name))
            rows.append(name + "," + ",".join(str(labels[label]) for label in LABELS))
        atomic_write_text(root / LABEL_CSV.format(tag=tag), "\n".join(rows) + "\n")
    return root
