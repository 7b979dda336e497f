"""Albumentations pipelines shared by the image tasks.

Geometry that must be undone at prediction time (letterboxing to a square) is fixed here; the
augmentations on top of it come from the config as a list of albumentations transforms.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import albumentations as A
import cv2
import numpy as np
import torch


class SeededCompose(A.Compose):
    """An albumentations Compose whose random state follows torch's, so a run's seed fixes its augmentations.

    Albumentations 2 draws from generators of its own, seeded from the operating system unless a seed is given,
    so `seed_everything` does not reach them and two runs with one seed augment differently. Before each call
    this one checks `torch.initial_seed()`: in the main process (num_workers=0) the run's seed; in a loader
    worker a seed torch derives from the run's generator, the worker's number and the epoch (and which Lightning's
    worker init makes distinct per rank). When it changes (a new worker, each epoch unless the workers persist),
    the pipeline's generators are seeded from it.

    One numpy and one Python generator are shared by all the transforms (`set_random_state`), as without a
    seed; `Compose(seed=...)` instead gives each transform its own generator with the same seed, which draw in
    lock-step: HorizontalFlip and VerticalFlip, both p=0.5, would then always flip together.
    """

    _seeded_from: int | None = None

    def __call__(self, *args: Any, force_apply: bool = False, **data: Any) -> dict[str, Any]:
        seed = torch.initial_seed()
        if seed != self._seeded_from:
            self.set_random_state(np.random.default_rng(seed), random.Random(seed))
            self._seeded_from = seed
        return super().__call__(*args, force_apply=force_apply, **data)


def letterbox_scale(width: int, height: int, size: int) -> float:
    """The factor `letterbox` resizes an image by (longest side -> size)."""
    return size / max(width, height)


def detection_pipeline(
    size: int,
    augmentations: Sequence[A.BasicTransform] = (),
    with_boxes: bool = True,
    resize_first: bool = True,
) -> A.Compose:
    """Letterbox (longest side resized to size, padded bottom/right to size x size), augmenting in between.

    Padding bottom/right keeps the original top-left origin, so mapping boxes back to the original
    image is a division by `letterbox_scale`.

    Args:
        size: Side of the square output.
        augmentations: Albumentations transforms (training only).
        with_boxes: Whether `bboxes` (pascal_voc) and `labels` go through the pipeline.
        resize_first: Augment after the resize, at the training resolution (default): a 4032x3024 coral
            photo costs the augmentations 15x fewer pixels at 1024. A second resize after the
            augmentations keeps the output size exact if one of them changes it. False augments the
            original image first, as most pipelines do.
    """
    resize = A.LongestMaxSize(max_size=size, interpolation=cv2.INTER_AREA)
    if not augmentations:
        middle: list[A.BasicTransform] = [resize]
    elif resize_first:
        middle = [resize, *augmentations, A.LongestMaxSize(max_size=size, interpolation=cv2.INTER_AREA)]
    else:
        middle = [*augmentations, resize]
    steps = [*middle, A.PadIfNeeded(size, size, position="top_left", border_mode=cv2.BORDER_CONSTANT, fill=0)]
    bbox_params = (
        A.BboxParams(format="pascal_voc", label_fields=["labels"], min_visibility=0.3, clip=True)
        if with_boxes
        else None
    )
    return SeededCompose(steps, bbox_params=bbox_params)


def to_chw_uint8(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW uint8 tensor, the image format of every dict batch.

    Batches stay uint8 until they reach the model's device (`BaseModule.prepare_images` scales them to
    [0, 1] floats there): a quarter of the bytes a float32 batch has to pass from the loader workers
    and over PCIe.
    """
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()
