"""Semantic-segmentation data from polygon annotations: masks rasterised on the fly."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from baselines.data.base import Split
from baselines.data.detection import DetectionDataModule, DetectionDataset, DetectionRecord, load_scaled
from baselines.data.transforms import detection_pipeline, letterbox_scale, to_chw_uint8
from baselines.io.polygons import fill_polygons


def class_mask(record: DetectionRecord, height: int, width: int) -> np.ndarray:
    """0 = background, label + 1 inside each polygon; larger regions first so smaller ones stay on top."""
    mask = np.zeros((height, width), np.uint8)
    order = sorted(range(len(record.polygons)), key=lambda i: -float(np.prod(np.ptp(record.polygons[i], axis=0))))
    for i in order:
        fill_polygons([record.polygons[i]], height, width, int(record.labels[i]) + 1, out=mask)
    return mask


class SegmentationDataset(DetectionDataset):
    """Yields `{"id", "index", "image", "mask", "scale", "orig_size"}` dicts (letterboxed like detection)."""

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, record, (width, height) = load_scaled(self.records[index], self.size if self.reduced_decode else None)
        out = self.transform(image=image, mask=class_mask(record, *image.shape[:2]))
        return {
            "id": record.image_id,
            "index": index,
            "image": to_chw_uint8(out["image"]),
            "mask": torch.from_numpy(np.ascontiguousarray(out["mask"])).long(),
            "scale": letterbox_scale(width, height, self.size),
            "orig_size": torch.tensor([height, width]),
        }


class SegmentationDataModule(DetectionDataModule):
    """DetectionDataModule whose samples carry a class mask drawn from polygon annotations.

    Same arguments as DetectionDataModule; its reader must return records with `polygons`.
    """

    def make_dataset(self, records: list[DetectionRecord], split: Split) -> Dataset:
        augmentations = self.augmentations if split == "train" else ()
        pipeline = detection_pipeline(self.image_size, augmentations, with_boxes=False)
        return SegmentationDataset(records, pipeline, self.image_size)
