"""Test-time augmentation (TTA): predict on flipped and rescaled copies of each input and combine.

`TTA` is a small typed config object the LightningModules take as `tta` (off by default); from the
command line `model.tta.hflip=true model.tta.scales=[0.75,1.25]`. The views are the original input at
scale 1 and every extra scale, each also mirrored when `hflip`. How the views are combined depends on
the problem type:

- classification (concepts, VQA, TB): the mean of the views' logits (`mean_over_views`);
- segmentation: the mean of the views' probability maps, each mapped back first (`average_maps`);
- detection: the views' boxes mapped back and fused by weighted boxes fusion (models.detection).

Only prediction uses TTA; training and validation are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class View:
    """One augmented copy: scale factor of the spatial size, and whether it is mirrored left-right."""

    scale: float = 1.0
    flip: bool = False


@dataclass(frozen=True)
class TTA:
    """Args:
    hflip: Add a left-right mirrored copy of every view.
    scales: Extra scale factors besides 1 (e.g. [0.75, 1.25]); the network must accept those sizes.
    iou_threshold: Detection: IoU above which the views' boxes of one class are fused (WBF).
    """

    hflip: bool = False
    scales: Sequence[float] = ()
    iou_threshold: float = 0.55

    def __post_init__(self) -> None:
        scales = tuple(float(s) for s in self.scales)  # Hydra hands a ListConfig
        if not all(math.isfinite(s) and s > 0 for s in scales):
            raise ValueError(f"tta.scales must be positive factors, got {list(scales)}")
        object.__setattr__(self, "scales", scales)

    def views(self) -> list[View]:
        """The original first, then its mirror, then each extra scale (and its mirror)."""
        scales = list(dict.fromkeys([1.0, *self.scales]))
        return [View(s, f) for s in scales for f in ((False, True) if self.hflip else (False,))]

    @property
    def enabled(self) -> bool:
        return len(self.views()) > 1


def views_of(tta: TTA | None) -> list[View]:
    return tta.views() if tta is not None else [View()]


def apply_view(x: torch.Tensor, view: View, spatial_dims: int = 2, multiple: int = 1) -> torch.Tensor:
    """The view of a batch whose last `spatial_dims` dimensions are spatial (width last).

    Scaling is bilinear (trilinear for volumes), without corner alignment, as the letterbox resize;
    scaled sizes are rounded to a multiple of `multiple` (a U-Net takes multiples of its output stride).
    """
    if view.flip:
        x = x.flip(-1)
    if view.scale != 1.0:
        size = [max(multiple, round(n * view.scale / multiple) * multiple) for n in x.shape[-spatial_dims:]]
        x = resize(x, size)
    return x


def resize(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Resizes the trailing len(size) dimensions of x (any leading dimensions), bilinear / trilinear."""
    spatial = len(size)
    lead = x.shape[:-spatial]
    flat = x.reshape(-1, 1, *x.shape[-spatial:]).float()
    mode = "bilinear" if spatial == 2 else "trilinear"
    out = F.interpolate(flat, size=list(size), mode=mode, align_corners=False)
    return out.reshape(*lead, *out.shape[-spatial:]).to(x.dtype if x.dtype.is_floating_point else torch.float32)


def mean_over_views(
    tta: TTA | None, x: torch.Tensor, predict: Callable[[torch.Tensor], torch.Tensor], spatial_dims: int = 2
) -> torch.Tensor:
    """Classification: the mean of `predict` (logits) over the views of x."""
    outputs = [predict(apply_view(x, view, spatial_dims)) for view in views_of(tta)]
    return outputs[0] if len(outputs) == 1 else torch.stack(outputs).mean(0)


def average_maps(
    tta: TTA | None, x: torch.Tensor, predict: Callable[[torch.Tensor], torch.Tensor], multiple: int = 1
) -> torch.Tensor:
    """Segmentation: the mean over the views of x of `predict` (per-pixel probability maps), each view's
    maps mirrored back and resized to x's size first."""
    size = list(x.shape[-2:])
    total = None
    views = views_of(tta)
    for view in views:
        maps = predict(apply_view(x, view, 2, multiple))
        if view.scale != 1.0 or list(maps.shape[-2:]) != size:
            maps = resize(maps, size)
        if view.flip:
            maps = maps.flip(-1)
        total = maps if total is None else total + maps
    assert total is not None
    return total / len(views)
