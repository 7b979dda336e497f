"""CT volumes and lung masks of the tuberculosis task, read without torch (training and `baselines draw`
share them): both put in the canonical RAS+ orientation with the CT's affine, and each lung located in its
mask (which mask value is the left lung: from the affine unless configured, see `LungPreprocessing`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, io_orientation


@dataclass(frozen=True)
class LungPreprocessing:
    """Settings of the per-lung preprocessing.

    Attributes:
        size: Output (depth, height, width) of each lung volume.
        window: HU window mapped to [0, 1].
        margin: Voxels added around the mask's bounding box.
        mask_outside: Zero the voxels outside the lung mask.
        left_value, right_value: Mask values of the left and right lung. None (default): decided per CT
            from its affine, the value whose voxels lie more to the patient's left (lower RAS+ x) being
            the left lung, because no statement of the released masks' convention was found and the
            public sources disagree (docs/tasks/tuberculosis.md). Set both to impose a convention.
    """

    size: tuple[int, int, int] = (64, 96, 96)
    window: tuple[float, float] = (-1000.0, 400.0)
    margin: int = 4
    mask_outside: bool = False
    left_value: int | None = None
    right_value: int | None = None

    def __post_init__(self) -> None:
        values = (self.left_value, self.right_value)
        if (values[0] is None) != (values[1] is None) or (values[0] is not None and values[0] == values[1]):
            raise ValueError(
                f"left_value and right_value must both be None (decided from the affine) or two different mask "
                f"values; got {values}"
            )


MAX_CT_VOXELS = 1 << 28
"""The most voxels a CT or mask may hold (268 M: 2.5 x a 512 x 512 x 400 CT, the largest kind released). Checked
from the header before a voxel is read (so a .nii.gz that would inflate beyond it is never inflated):
`data.max_ct_voxels` raises it."""


def _load(path: Path, max_voxels: int = MAX_CT_VOXELS) -> Any:
    """The NIfTI image (header read, voxels not), checked: 3-D, at most max_voxels voxels, and, uncompressed, a
    file large enough for what its header claims."""
    try:
        image: Any = nib.load(str(path))
    except Exception as exc:  # nibabel raises many types for broken files
        raise OSError(f"{path}: cannot read NIfTI volume ({type(exc).__name__}: {exc})") from exc
    if len(image.shape) != 3:
        raise ValueError(f"{path}: {len(image.shape)}D volume of shape {tuple(image.shape)}, expected 3D")
    voxels = int(np.prod(image.shape, dtype=np.int64))
    if voxels > max_voxels:
        raise ValueError(
            f"{path}: its header claims {'x'.join(map(str, image.shape))} = {voxels:,} voxels, more than the cap of "
            f"{max_voxels:,} (data.max_ct_voxels): refused before reading (raise the cap for a real CT that large)"
        )
    if not str(path).endswith(".gz"):
        offset = int(getattr(image.dataobj, "offset", image.header.get_data_offset()))
        needed = offset + voxels * image.header.get_data_dtype().itemsize
        held = path.stat().st_size
        if held < needed:
            raise ValueError(
                f"{path}: its header claims {'x'.join(map(str, image.shape))} voxels ({needed:,} bytes with the "
                f"header), the file holds {held:,}: truncated or not what it says, refused before reading"
            )
    return image


def _array(image: Any, path: Path, dtype: type) -> np.ndarray:
    try:
        return np.asarray(image.dataobj, dtype=dtype)
    except Exception as exc:  # a truncated gzip stream fails only when the voxels are read
        raise OSError(f"{path}: cannot read NIfTI volume ({type(exc).__name__}: {exc})") from exc


def read_canonical(volume: Path, mask: Path, max_voxels: int = MAX_CT_VOXELS) -> tuple[np.ndarray, np.ndarray]:
    """The CT (HU, float32) and its lung mask, both reoriented to RAS+ with the CT's affine (each refused from its
    header beyond max_voxels).

    The mask is read in its CT's voxel grid: masks are computed on the CT's voxels (and the masks2 tool,
    skliff13/CT_RegSegm, writes its own axis signs into the mask's affine), so the CT's affine orients both.
    """
    ct_image, mask_image = _load(volume, max_voxels), _load(mask, max_voxels)
    if ct_image.shape != mask_image.shape:
        raise ValueError(f"{volume}: CT shape {ct_image.shape} differs from its mask {mask} {mask_image.shape}")
    orientation = io_orientation(ct_image.affine)
    ct = _canonical_ct(ct_image, volume, orientation)
    lungs = apply_orientation(_array(mask_image, mask, np.int32), orientation)
    return ct, lungs


def read_canonical_ct(volume: Path, max_voxels: int = MAX_CT_VOXELS) -> np.ndarray:
    """The CT alone (HU, float32), reoriented to RAS+ with its affine (see read_canonical)."""
    image = _load(volume, max_voxels)
    return _canonical_ct(image, volume, io_orientation(image.affine))


def _canonical_ct(image: Any, volume: Path, orientation: np.ndarray) -> np.ndarray:
    ct = apply_orientation(_array(image, volume, np.float32), orientation)
    bad = int(ct.size - np.count_nonzero(np.isfinite(ct)))
    if bad:  # NaN or inf would become NaN probabilities in the run file
        raise ValueError(f"{volume}: {bad} non-finite voxel(s) (NaN or inf) in the CT")
    return ct


@dataclass(frozen=True)
class Lung:
    """Where one lung lies in a RAS+ mask.

    Attributes:
        value: Its mask value.
        first, last: The first and last voxel index of its mask along each axis (its bounding box).
        centre: The mean index of its voxels along axis 0 (from the patient's left to right).
    """

    value: int
    first: tuple[int, int, int]
    last: tuple[int, int, int]
    centre: float

    def box(self, margin: int) -> tuple[slice, slice, slice]:
        """The bounding box plus margin voxels on every side, as slices (clipped at 0; slicing clips the end)."""
        a, b, c = (slice(max(0, lo - margin), hi + 1 + margin) for lo, hi in zip(self.first, self.last, strict=True))
        return a, b, c


def _find_lung(lungs: np.ndarray, value: int) -> Lung | None:
    """The lung of one mask value, or None if no voxel has it. One comparison with the mask and its
    projections on the axes give the box and centre (np.nonzero would list every lung voxel's indices)."""
    inside = lungs == value
    per_x = np.count_nonzero(inside, axis=(1, 2))
    count = int(per_x.sum())
    if not count:
        return None
    on_axis = (per_x, inside.any(axis=(0, 2)), inside.any(axis=(0, 1)))
    first, last = zip(*((int(i[0]), int(i[-1])) for i in map(np.flatnonzero, on_axis)), strict=True)
    centre = int(np.dot(np.arange(len(per_x)), per_x)) / count  # exact integer sum, one rounding
    return Lung(value, (first[0], first[1], first[2]), (last[0], last[1], last[2]), centre)


def _mask_values(lungs: np.ndarray) -> list[int]:
    """The sorted nonzero values of a mask. A lung mask holds a few small values: testing each value between
    its minimum and maximum reads the mask a few times, where np.unique sorts every voxel."""
    low, high = int(lungs.min()), int(lungs.max())
    if high - low > 16:
        return [int(v) for v in np.unique(lungs) if v != 0]
    return [v for v in range(low, high + 1) if v != 0 and (lungs == v).any()]


def locate_lungs(lungs: np.ndarray, mask: Path, settings: LungPreprocessing) -> tuple[Lung, Lung]:
    """The (left, right) lung of a RAS+ mask: the configured values, or the value lying more to the
    patient's left (lower mean index on axis 0) is the left lung."""
    if settings.left_value is not None and settings.right_value is not None:
        found = []
        for side, value in (("left", settings.left_value), ("right", settings.right_value)):
            if (lung := _find_lung(lungs, value)) is None:
                raise ValueError(f"{mask}: no voxel with value {value} (the {side} lung)")
            found.append(lung)
        return found[0], found[1]
    values = _mask_values(lungs)
    if len(values) != 2:
        raise ValueError(
            f"{mask}: expected two lung values to tell the lungs apart, found {values}; "
            "set data.left_value and data.right_value for another mask layout"
        )
    a, b = (_find_lung(lungs, v) for v in values)
    assert a is not None and b is not None  # both values occur in the mask
    if a.centre == b.centre:
        raise ValueError(f"{mask}: lung values {values} are centred at the same left-right position")
    left, right = sorted((a, b), key=lambda lung: lung.centre)
    return left, right
