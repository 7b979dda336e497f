"""Detection data: records of boxes per image, a dataset over an image folder, and the data module
used by drawnUI and coral subtask 1 alike (only the annotation reader differs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import albumentations as A
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler, WeightedRandomSampler

from baselines.data.base import BaseDataModule, Loader, Split
from baselines.data.transforms import detection_pipeline, letterbox_scale, to_chw_uint8
from baselines.io.grouped import parse_grouped_file
from baselines.io.images import BadImagePolicy, IdFrom, images_by_id, load_rgb, read_header


@dataclass(frozen=True)
class DetectionRecord:
    """One annotated image.

    Attributes:
        image_id: The official id written to run files (drawnUI: the file name).
        path: The image file.
        boxes: (N, 4) float array, xyxy pixels in the original image.
        labels: (N,) int array of class indices.
        polygons: For polygon annotations, the (K, 2) vertices of each region; else empty.
    """

    image_id: str
    path: Path
    boxes: np.ndarray
    labels: np.ndarray
    polygons: tuple[np.ndarray, ...] = ()


class AnnotationReader(Protocol):
    """Reads an official annotation file into records for the images in image_dir."""

    def __call__(self, annotations: str | Path, image_dir: str | Path) -> list[DetectionRecord]: ...


def read_grouped_records(
    annotations: str | Path, image_dir: str | Path, classes: Sequence[str]
) -> list[DetectionRecord]:
    """Reads a ground-truth file in the grouped-region grammar (drawnUI: `image.jpg;class 1:WxH+X+Y,...`)
    for the images in image_dir, whose ids are file names.

    An annotated image without a file is left to the data module's readable check, which reports it as
    missing with every other missing or unreadable file (or skips it, under on_bad_image=skip).

    Raises:
        FormatError: For any malformed line, with its number.
    """
    image_dir = Path(image_dir)
    truth = parse_grouped_file(annotations, classes, "box")
    records = []
    for image_id, regions in truth.items():
        path = image_dir / image_id
        boxes = np.array([r.box for r in regions], dtype=np.float32).reshape(-1, 4)
        labels = np.array([r.label for r in regions], dtype=np.int64)
        records.append(DetectionRecord(image_id, path, boxes, labels))
    return records


def unlabeled_records(image_dir: str | Path, id_from: IdFrom = "name") -> list[DetectionRecord]:
    """Records for every image in a folder, without boxes (test sets).

    Args:
        image_dir: The folder.
        id_from: Whether the official id is the file name (drawnUI) or its stem (coral).

    Raises:
        FormatError: If two files have one id (`X.JPG` and `X.png` where ids are stems), naming both.
    """
    empty = np.zeros((0, 4), np.float32)
    found = images_by_id(image_dir, id_from)
    return [DetectionRecord(image_id, path, empty, np.zeros(0, np.int64)) for image_id, path in found.items()]


def balanced_image_weights(records: Sequence[DetectionRecord], num_classes: int) -> torch.Tensor:
    """Per-image sampling weights: the rarest class an image contains sets its weight (1 / class count).

    Images without regions get the smallest weight, so they still appear.
    """
    counts = np.bincount(np.concatenate([r.labels for r in records] or [np.zeros(0, np.int64)]), minlength=num_classes)
    inverse = 1.0 / np.maximum(counts, 1)
    floor = float(inverse.min())
    return torch.tensor([float(inverse[r.labels].max()) if len(r.labels) else floor for r in records])


def load_scaled(record: DetectionRecord, size: int | None) -> tuple[np.ndarray, DetectionRecord, tuple[int, int]]:
    """A record's image and annotations, decoded at reduced JPEG scale when `size` allows (see load_rgb).

    Returns:
        The image, the record with boxes and polygons in that image's pixels, and the original
        (width, height), which predictions are mapped back to.
    """
    header = read_header(record.path)
    width, height = header.size
    image = load_rgb(record.path, longest_at_least=size, header=header)
    if image.shape[:2] == (height, width):
        return image, record, (width, height)
    rx, ry = image.shape[1] / width, image.shape[0] / height
    scaled = replace(
        record,
        boxes=(record.boxes * np.array([rx, ry, rx, ry])).astype(np.float32),
        polygons=tuple((polygon * np.array([rx, ry])).astype(np.float32) for polygon in record.polygons),
    )
    return image, scaled, (width, height)


class DetectionDataset(Dataset):
    """Yields `{"id", "index", "image", "boxes", "labels", "scale", "orig_size"}` dicts.

    `image` is a uint8 CHW tensor letterboxed to size x size (the module scales it on its device);
    boxes are in that frame; `scale` and `orig_size` (h, w) map predictions back to the original pixels.
    """

    def __init__(
        self, records: Sequence[DetectionRecord], transform: A.Compose, size: int, reduced_decode: bool = True
    ) -> None:
        self.records = list(records)
        self.transform = transform
        self.size = size
        self.reduced_decode = reduced_decode

    def __len__(self) -> int:
        return len(self.records)

    @property
    def ids(self) -> list[str]:
        return [r.image_id for r in self.records]

    @property
    def files(self) -> dict[str, Path]:
        return {r.image_id: r.path for r in self.records}

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, record, (width, height) = load_scaled(self.records[index], self.size if self.reduced_decode else None)
        out = self.transform(image=image, bboxes=record.boxes, labels=record.labels)
        boxes = np.asarray(out["bboxes"], dtype=np.float32).reshape(-1, 4)
        return {
            "id": record.image_id,
            "index": index,
            "image": to_chw_uint8(out["image"]),
            "boxes": torch.from_numpy(boxes),
            "labels": torch.as_tensor(np.asarray(out["labels"], dtype=np.int64)),
            "scale": letterbox_scale(width, height, self.size),
            "orig_size": torch.tensor([height, width]),
        }


class DetectionDataModule(BaseDataModule):
    """Train/val/predict detection data from official annotation files and image folders.

    Args:
        reader: Parses the task's official annotation file (e.g. `read_grouped_records` with the drawnUI classes).
        train_annotations: Training ground truth.
        train_images: Folder of training images.
        predict_images: Folder of the images to write a run file for.
        val_annotations: Validation ground truth; if None, `val_fraction` of train is held out.
        val_images: Folder of validation images (defaults to train_images).
        val_fraction: Share of training images held out for validation when no val file is given.
        image_size: Side of the square (letterboxed) network input.
        augmentations: Training-time albumentations transforms, applied before letterboxing.
        split_seed: Seed of the train/val split, independent of the training seed.
        on_bad_image: "error" (default) stops before training with the list of unreadable images;
            "skip" leaves them out and reports them (log and `skipped`).
        id_from: Whether the official id of a predicted image is its file name or its stem.
        balanced_sampling: Draw training images with weights favouring rare classes (for strong
            class imbalance, e.g. coral); an epoch then has as many draws as there are images.
        loader: Batch sizes and loader workers (see BaseDataModule).
    """

    def __init__(
        self,
        reader: AnnotationReader,
        train_annotations: str,
        train_images: str,
        predict_images: str,
        val_annotations: str | None = None,
        val_images: str | None = None,
        val_fraction: float = 0.1,
        image_size: int = 800,
        augmentations: Sequence[A.BasicTransform] = (),
        split_seed: int = 0,
        on_bad_image: BadImagePolicy = "error",
        id_from: IdFrom = "name",
        balanced_sampling: bool = False,
        loader: Loader | None = None,
    ) -> None:
        super().__init__(loader)
        self.reader = reader
        self.train_annotations = train_annotations
        self.train_images = train_images
        self.val_annotations = val_annotations
        self.val_images = val_images or train_images
        self.predict_images = predict_images
        self.val_fraction = val_fraction
        self.image_size = image_size
        self.augmentations = list(augmentations)
        self.split_seed = split_seed
        self.on_bad_image = on_bad_image
        self.id_from: IdFrom = id_from
        self.balanced_sampling = balanced_sampling
        self._train_val: tuple[list[DetectionRecord], list[DetectionRecord]] | None = None

    def _split(self) -> tuple[list[DetectionRecord], list[DetectionRecord]]:
        if self._train_val is None:
            train = self.reader(self.train_annotations, self.train_images)
            if self.val_annotations:
                val = self.reader(self.val_annotations, self.val_images)
            else:
                order = np.random.default_rng(self.split_seed).permutation(len(train))
                n_val = max(1, round(len(train) * self.val_fraction)) if len(train) > 1 else 0
                held = set(order[:n_val].tolist())
                val = [r for i, r in enumerate(train) if i in held]
                train = [r for i, r in enumerate(train) if i not in held]
            self._train_val = (train, val)
        return self._train_val

    def make_dataset(self, records: list[DetectionRecord], split: Split) -> Dataset:
        """The dataset of one split over its usable records; subclasses change the sample type."""
        augmentations = self.augmentations if split == "train" else ()
        return DetectionDataset(records, detection_pipeline(self.image_size, augmentations), self.image_size)

    def build_dataset(self, split: Split) -> Dataset:
        if split == "predict":
            records = unlabeled_records(self.predict_images, self.id_from)
        else:
            train, val = self._split()
            records = train if split == "train" else val
        usable = self.readable(records, [r.path for r in records], self.on_bad_image, split)
        return self.make_dataset(usable, split)

    def train_sampler(self) -> Sampler | None:
        if not self.balanced_sampling:
            return None
        records = self.dataset("train").records  # type: ignore[attr-defined]
        num_classes = 1 + max((int(r.labels.max()) for r in records if len(r.labels)), default=0)
        weights = balanced_image_weights(records, num_classes)
        return WeightedRandomSampler(weights.tolist(), num_samples=len(records), replacement=True)
