"""VQA-Med 2020 data: `|`-separated files, images `<dir>/<id>.<ext>` (any image extension, any case).

- VQA train/val: `image_id|question|answer`; test questions `image_id|question`; reference answers
  `image_id|answer` (mixed case, some leading spaces; `#` separates alternatives).
- VQG: `image_id|question` lines (several per image) or `image_id|q1|q2|...`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import albumentations as A
import torch
from torch.utils.data import Dataset

from baselines.data.base import BaseDataModule, Split
from baselines.data.formats.vqamed import answer_key, read_generated_questions, read_qa, read_questions
from baselines.data.images import BadImagePolicy, find_images_by_stem, image_paths, load_rgb
from baselines.data.transforms import detection_pipeline, to_chw_uint8


class VQAMedDataset(Dataset):
    """Yields `{"id", "index", "image"}` plus `question`, `answer` (VQA) or `text` (VQG) when given."""

    def __init__(
        self,
        rows: Sequence[dict[str, Any]],
        paths: Mapping[str, Path],
        transform: A.Compose,
        decode_size: int | None = None,
    ) -> None:
        self.rows = list(rows)
        self.paths = dict(paths)  # image id -> file
        self.transform = transform
        self.decode_size = decode_size  # JPEGs are decoded at reduced scale down to this (see load_rgb)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ids(self) -> list[str]:
        return [row["id"] for row in self.rows]

    @property
    def files(self) -> dict[str, Path]:
        return {row["id"]: self.paths[row["id"]] for row in self.rows}

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rows[index]
        image = self.transform(image=load_rgb(self.paths[row["id"]], longest_at_least=self.decode_size))["image"]
        return {
            **row,
            "index": index,
            "image": to_chw_uint8(image),
        }


class VQAMedDataModule(BaseDataModule):
    """VQA (image + question -> answer) or VQG (image -> questions) data.

    Args:
        mode: "vqa" or "vqg".
        train_file: VQA `image_id|question|answer` or VQG `image_id|question...` training file.
        train_images: Folder of the training images (`<id>.jpg`).
        predict_images: Folder of the test images.
        predict_questions: VQA test questions `image_id|question` (run-file order); for VQG, None
            predicts every image of predict_images.
        val_file, val_images: Validation set; if None, val_fraction of the training rows.
        val_fraction: Share of training rows held out when no validation file is given.
        min_answer_frequency: Answers rarer than this in training are left out of the vocabulary.
        image_size: Letterboxed square input size.
        augmentations: Training-time albumentations transforms.
        split_seed: Seed of the train/val split.
        on_bad_image: "error" or "skip" (see baselines.data.images.check_images).
        batch_size, num_workers, pin_memory, persistent_workers, predict_batch_size: See BaseDataModule.
    """

    def __init__(
        self,
        mode: Literal["vqa", "vqg"],
        train_file: str,
        train_images: str,
        predict_images: str,
        predict_questions: str | None = None,
        val_file: str | None = None,
        val_images: str | None = None,
        val_fraction: float = 0.1,
        min_answer_frequency: int = 1,
        image_size: int = 384,
        augmentations: Sequence[A.BasicTransform] = (),
        split_seed: int = 0,
        on_bad_image: BadImagePolicy = "error",
        batch_size: int = 32,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        predict_batch_size: int | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, pin_memory, persistent_workers, predict_batch_size)
        if mode == "vqa" and predict_questions is None:
            raise ValueError("VQA needs predict_questions (the test questions file)")
        self.mode = mode
        self.train_file, self.train_images = train_file, Path(train_images)
        self.predict_images, self.predict_questions = Path(predict_images), predict_questions
        self.val_file, self.val_images = val_file, Path(val_images or train_images)
        self.val_fraction = val_fraction
        self.min_answer_frequency = min_answer_frequency
        self.image_size = image_size
        self.augmentations = list(augmentations)
        self.split_seed = split_seed
        self.on_bad_image = on_bad_image
        self._answers: list[str] | None = None

    @property
    def answers(self) -> list[str]:
        """Answer classes (VQA), most frequent training answer first."""
        if self._answers is None:
            counts = Counter(answer_key(a) for _, _, a in read_qa(self.train_file))
            keep = [a for a, n in counts.items() if n >= self.min_answer_frequency]
            self._answers = sorted(keep, key=lambda a: (-counts[a], a))
        return self._answers

    def _rows(self, path: str) -> list[dict[str, Any]]:
        if self.mode == "vqa":
            return [{"id": i, "question": q, "answer": a} for i, q, a in read_qa(path)]
        return [{"id": i, "text": q} for i, questions in read_generated_questions(path).items() for q in questions]

    def build_dataset(self, split: Split) -> Dataset:
        augmentations = self.augmentations if split == "train" else ()
        pipeline = detection_pipeline(self.image_size, augmentations, with_boxes=False)
        rows: list[dict[str, Any]] | None
        if split == "predict":
            folder = self.predict_images
            rows = None  # VQG without a questions file: every image of the folder (below)
            if self.predict_questions is not None:
                rows = [{"id": i, "question": q} for i, q in read_questions(self.predict_questions)]
        elif split == "val" and self.val_file:
            rows, folder = self._rows(self.val_file), self.val_images
        else:
            everything = self._rows(self.train_file)
            images = sorted({r["id"] for r in everything})  # split by image, so no image is in both
            order = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.split_seed)).tolist()
            held = {images[k] for k in order[: max(1, round(len(images) * self.val_fraction))]}
            rows = [r for r in everything if (r["id"] in held) == (split == "val")]
            folder = self.train_images
        found = find_images_by_stem(folder)
        if rows is None:
            rows = [{"id": image_id} for image_id in sorted(found)]
        paths = image_paths(found, [r["id"] for r in rows], folder)
        usable = self.readable(rows, [paths[r["id"]] for r in rows], self.on_bad_image, split)
        return VQAMedDataset(usable, paths, pipeline, self.image_size)


def answer_targets(answers: Sequence[str], vocabulary: Mapping[str, int]) -> torch.Tensor:
    """Class indices of answers; -100 (ignored by cross-entropy) for answers outside the vocabulary."""
    return torch.tensor([vocabulary.get(answer_key(a), -100) for a in answers])
