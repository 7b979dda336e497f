"""ImageCLEF 2020 medical caption data: concept and caption files, images in modality folders.

- concepts: `ROCO_CLEF_41341<TAB>C0033785;C0035561` (the concept list may be empty)
- captions: `ROCO_CLEF_41341<TAB>caption text`
- images: `<root>/<MODALITY>/<id>.jpg` for the modality folders (DRAN, DRCO, DRCT, DRMR, DRPE, DRUS,
  DRXR) or a flat folder; ids are file stems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import torch
from torch.utils.data import Dataset

from baselines.data.base import BaseDataModule, Loader, Split
from baselines.data.transforms import detection_pipeline, to_chw_uint8
from baselines.io.formats.medcaption import build_vocabulary, read_concepts, read_tab_file
from baselines.io.images import BadImagePolicy, image_paths, load_rgb
from baselines.io.images import find_images_by_stem as find_images


class ImageLabelDataset(Dataset):
    """Yields `{"id", "index", "image"}` plus `"target"` (multi-hot) and/or `"text"` when given."""

    def __init__(
        self,
        ids: Sequence[str],
        paths: Mapping[str, Path],
        transform: A.Compose,
        targets: Mapping[str, np.ndarray] | None = None,
        texts: Mapping[str, str] | None = None,
        decode_size: int | None = None,
    ) -> None:
        self.ids = list(ids)
        self.paths = paths
        self.transform = transform
        self.targets = targets
        self.texts = texts
        self.decode_size = decode_size  # JPEGs are decoded at reduced scale down to this (see load_rgb)

    @property
    def files(self) -> dict[str, Path]:
        return {i: self.paths[i] for i in self.ids}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image_id = self.ids[index]
        image = self.transform(image=load_rgb(self.paths[image_id], longest_at_least=self.decode_size))["image"]
        sample: dict[str, Any] = {
            "id": image_id,
            "index": index,
            "image": to_chw_uint8(image),
        }
        if self.targets is not None:
            sample["target"] = torch.from_numpy(self.targets[image_id])
        if self.texts is not None:
            sample["text"] = self.texts[image_id]
        return sample


class MedicalCaptionDataModule(BaseDataModule):
    """Images with concept labels (multi-label) and/or captions (image to text).

    Args:
        train_images: Training image root (modality folders or flat).
        predict_images: Root of the images to write a run file for.
        train_concepts: Training concepts file; gives `target` and the vocabulary.
        train_captions: Training captions file; gives `text`.
        val_concepts, val_captions, val_images: A validation set; if absent, val_fraction of train.
        val_fraction: Share of training images held out when no validation files are given.
        min_concept_frequency: Concepts rarer than this in training are left out of the vocabulary.
        image_size: Letterboxed square input size.
        augmentations: Training-time albumentations transforms.
        split_seed: Seed of the train/val split.
        on_bad_image: "error" or "skip" (see baselines.io.images.check_images).
        loader: Batch sizes and loader workers (see BaseDataModule).
    """

    def __init__(
        self,
        train_images: str,
        predict_images: str,
        train_concepts: str | None = None,
        train_captions: str | None = None,
        val_concepts: str | None = None,
        val_captions: str | None = None,
        val_images: str | None = None,
        val_fraction: float = 0.1,
        min_concept_frequency: int = 1,
        image_size: int = 384,
        augmentations: Sequence[A.BasicTransform] = (),
        split_seed: int = 0,
        on_bad_image: BadImagePolicy = "error",
        loader: Loader | None = None,
    ) -> None:
        super().__init__(loader)
        if train_concepts is None and train_captions is None:
            raise ValueError("give train_concepts, train_captions or both")
        self.train_images = train_images
        self.predict_images = predict_images
        self.train_concepts = train_concepts
        self.train_captions = train_captions
        self.val_concepts = val_concepts
        self.val_captions = val_captions
        self.val_images = val_images or train_images
        self.val_fraction = val_fraction
        self.min_concept_frequency = min_concept_frequency
        self.image_size = image_size
        self.augmentations = list(augmentations)
        self.split_seed = split_seed
        self.on_bad_image = on_bad_image
        self._vocabulary: list[str] | None = None

    @property
    def vocabulary(self) -> list[str]:
        """Concept ids in output order, built from the training concepts."""
        if self._vocabulary is None:
            if self.train_concepts is None:
                raise ValueError("no train_concepts: this data module has no concept vocabulary")
            self._vocabulary = build_vocabulary(read_concepts(self.train_concepts), self.min_concept_frequency)
        return self._vocabulary

    def _labelled(self, concepts: str | None, captions: str | None, images: str) -> tuple[list[str], dict, dict]:
        paths = find_images(images)
        labels = read_concepts(concepts) if concepts else None
        texts = read_tab_file(captions, "caption") if captions else None
        ids = sorted(set(labels or texts or {}))
        # a missing image is reported by _usable with every unreadable one (or skipped, under on_bad_image=skip)
        paths = image_paths(paths, ids, images)
        targets = None
        if labels is not None:
            index = {c: i for i, c in enumerate(self.vocabulary)}
            targets = {}
            for image_id in ids:
                vector = np.zeros(len(index), np.float32)
                vector[[index[c] for c in labels.get(image_id, []) if c in index]] = 1.0
                targets[image_id] = vector
        return ids, {"paths": paths, "targets": targets, "texts": texts}, paths

    def build_dataset(self, split: Split) -> Dataset:
        pipeline = detection_pipeline(self.image_size, self.augmentations if split == "train" else (), with_boxes=False)
        if split == "predict":
            paths = find_images(self.predict_images)
            ids = sorted(paths)
            return ImageLabelDataset(self._usable(ids, paths, split), paths, pipeline, decode_size=self.image_size)
        if split == "val" and (self.val_concepts or self.val_captions):
            ids, parts, paths = self._labelled(self.val_concepts, self.val_captions, self.val_images)
        else:
            ids, parts, paths = self._labelled(self.train_concepts, self.train_captions, self.train_images)
            order = np.random.default_rng(self.split_seed).permutation(len(ids))
            held = set(order[: max(1, round(len(ids) * self.val_fraction))].tolist()) if len(ids) > 1 else set()
            ids = [i for k, i in enumerate(ids) if (k in held) == (split == "val")]
        usable = self._usable(ids, paths, split)
        return ImageLabelDataset(usable, paths, pipeline, parts["targets"], parts["texts"], self.image_size)

    def _usable(self, ids: list[str], paths: Mapping[str, Path], split: Split) -> list[str]:
        return self.readable(ids, [paths[i] for i in ids], self.on_bad_image, split)
