"""Albumentations pipelines shared by the image tasks.

Geometry that must be undone at prediction time (letterboxing to a square) is fixed here; the
augmentations on top of it come from the config as a list of albumentations transforms.
"""

from __future__ import annotations

from collections.abc import Sequence

import albumentations as A
import cv2
import numpy as np
import torch


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
    return A.Compose(steps, bbox_params=bbox_params)


def to_chw_uint8(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW uint8 tensor, the image format of every dict batch.

    Batches stay uint8 until they reach the model's device (`BaseTask.prepare_images` scales them to
    [0, 1] floats there): a quarter of the bytes a float32 batch has to pass from the loader workers
    and over PCIe.
    """
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()
