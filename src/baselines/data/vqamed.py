"""VQA-Med data: `|`-separated files, images `<dir>/<id>.<ext>` (any image extension, any case).

- VQA train/val: `image_id|question|answer` (2020: one question per image; 2019: four, one per category,
  with the category files in `QAPairsByCategory/`); test questions `image_id|question`; reference answers
  `image_id|answer` (mixed case, some leading spaces; `#` separates alternatives).
- VQG: `image_id|question` lines (several per image) or `image_id|q1|q2|...`.

Every VQA question has a type: `yes/no` when its training answer is yes or no, else its category when a
category file names it (2019: modality, plane, organ, abnormality), else `open`. The model learns the type
from the question and answers only with the answers seen for that type (see baselines.models.vqa).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import albumentations as A
import torch
from torch.utils.data import Dataset

from baselines.data.base import BaseDataModule, Loader, Split
from baselines.data.transforms import detection_pipeline, to_chw_uint8
from baselines.io.formats.vqamed import answer_key, read_generated_questions, read_qa, read_questions
from baselines.io.images import BadImagePolicy, find_images_by_stem, image_paths, load_rgb

YES_NO = ("yes", "no")
OPEN = "open"


def question_type(answer: str, category: str | None) -> str:
    """The type of a training question: `yes/no`, its category, or `open` (see the module docstring)."""
    return "yes/no" if answer_key(answer) in YES_NO else (category or OPEN)


@dataclass(frozen=True)
class AnswerVocabulary:
    """The answer classes (most frequent training answer first) and, per question type, the answers seen
    with it in training (a question of that type is answered from those only)."""

    answers: list[str]
    types: dict[str, list[str]]


class VQAMedDataset(Dataset):
    """Yields `{"id", "index", "image"}` plus `question`, `answer` (VQA) or `text` (VQG) when given.

    With `group_by_image`, an item is one image with all its rows: `question`, `answer` and `question_type`
    are lists (a training batch then runs the image network once per image, not once per question).
    """

    def __init__(
        self,
        rows: Sequence[dict[str, Any]],
        paths: Mapping[str, Path],
        transform: A.Compose,
        decode_size: int | None = None,
        group_by_image: bool = False,
    ) -> None:
        self.paths = dict(paths)  # image id -> file
        self.transform = transform
        self.decode_size = decode_size  # JPEGs are decoded at reduced scale down to this (see load_rgb)
        self.rows = list(rows)
        if group_by_image:
            grouped: dict[str, dict[str, Any]] = {}
            for row in self.rows:
                item = grouped.setdefault(row["id"], {"id": row["id"]})
                for key, value in row.items():
                    if key != "id":
                        item.setdefault(key, []).append(value)
            self.rows = list(grouped.values())

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
        train_file: VQA `image_id|question|answer` or VQG `image_id|question...` training file, or a list
            of them (e.g. the 2020 training set and the 2019 release, which the 2020 task allows).
        train_images: Folder of the training images (`<id>.jpg`), or one folder per training file.
        question_categories: VQA: category -> the QA file(s) listing its questions (2019:
            `QAPairsByCategory/C1_Modality_train.txt`, ...): a training question's type is its category
            (see `question_type`). Empty: the types are `yes/no` and `open`.
        predict_images: Folder of the test images.
        predict_questions: VQA test questions `image_id|question` (run-file order); for VQG, None
            predicts every image of predict_images.
        val_file, val_images: Validation set; if None, val_fraction of the training images is held out.
        val_fraction: Share of training rows held out when no validation file is given.
        min_answer_frequency: Answers rarer than this in training are left out of the vocabulary.
        image_size: Letterboxed square input size.
        augmentations: Training-time albumentations transforms.
        split_seed: Seed of the train/val split.
        on_bad_image: "error" or "skip" (see baselines.io.images.check_images).
        loader: Batch sizes and loader workers (see BaseDataModule).
    """

    def __init__(
        self,
        mode: Literal["vqa", "vqg"],
        train_file: str | Sequence[str],
        train_images: str | Sequence[str],
        predict_images: str,
        predict_questions: str | None = None,
        val_file: str | None = None,
        val_images: str | None = None,
        val_fraction: float = 0.1,
        min_answer_frequency: int = 1,
        question_categories: Mapping[str, str | Sequence[str]] | None = None,
        image_size: int = 384,
        augmentations: Sequence[A.BasicTransform] = (),
        split_seed: int = 0,
        on_bad_image: BadImagePolicy = "error",
        loader: Loader | None = None,
    ) -> None:
        super().__init__(loader)
        if mode == "vqa" and predict_questions is None:
            raise ValueError("VQA needs predict_questions (the test questions file)")
        self.mode = mode
        self.train_files = _as_list(train_file)
        self.train_images = [Path(folder) for folder in _as_list(train_images)]
        if len(self.train_images) not in (1, len(self.train_files)):
            raise ValueError(
                f"train_images: {len(self.train_images)} folders for {len(self.train_files)} training files; give "
                "one folder for all of them or one per file"
            )
        self.predict_images, self.predict_questions = Path(predict_images), predict_questions
        self.val_file = val_file
        self.val_images = Path(val_images) if val_images else self.train_images[0]
        self.val_fraction = val_fraction
        self.min_answer_frequency = min_answer_frequency
        self.question_categories = {name: _as_list(files) for name, files in (question_categories or {}).items()}
        self.image_size = image_size
        self.augmentations = list(augmentations)
        self.split_seed = split_seed
        self.on_bad_image = on_bad_image
        self._vocabulary: AnswerVocabulary | None = None
        self._categories: dict[tuple[str, str], str] | None = None
        self._train_rows: list[dict[str, Any]] | None = None

    @property
    def vocabulary(self) -> AnswerVocabulary:
        """The answer classes and the answers of each question type (VQA), from the training files."""
        if self._vocabulary is None:
            rows = self._training_rows()
            counts = Counter(answer_key(r["answer"]) for r in rows)
            keep = {a for a, n in counts.items() if n >= self.min_answer_frequency}
            types: dict[str, set[str]] = {}
            for row in rows:
                types.setdefault(row["question_type"], set())
                if answer_key(row["answer"]) in keep:
                    types[row["question_type"]].add(answer_key(row["answer"]))
            answers = sorted(keep, key=lambda a: (-counts[a], a))
            order = {a: k for k, a in enumerate(answers)}
            self._vocabulary = AnswerVocabulary(
                answers, {t: sorted(found, key=order.__getitem__) for t, found in sorted(types.items())}
            )
        return self._vocabulary

    @property
    def answers(self) -> list[str]:
        """Answer classes (VQA), most frequent training answer first."""
        return self.vocabulary.answers

    @property
    def answer_types(self) -> dict[str, list[str]]:
        """Question type -> the answers seen with it in training (VQA)."""
        return self.vocabulary.types

    def _category(self, image_id: str, question: str) -> str | None:
        if self._categories is None:
            self._categories = {
                (image_id, question): name
                for name, files in self.question_categories.items()
                for path in files
                for image_id, question, _ in read_qa(path)
            }
        return self._categories.get((image_id, question))

    def _rows(self, path: str) -> list[dict[str, Any]]:
        if self.mode == "vqa":
            return [
                {"id": i, "question": q, "answer": a, "question_type": question_type(a, self._category(i, q))}
                for i, q, a in read_qa(path)
            ]
        return [{"id": i, "text": q} for i, questions in read_generated_questions(path).items() for q in questions]

    def _training_rows(self) -> list[dict[str, Any]]:
        """The rows of every training file, each with the folder of its image (`folder`)."""
        if self._train_rows is None:
            folders = self.train_images * len(self.train_files) if len(self.train_images) == 1 else self.train_images
            self._train_rows = [
                {**row, "folder": folder}
                for path, folder in zip(self.train_files, folders, strict=True)
                for row in self._rows(path)
            ]
        return self._train_rows

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
            rows = self._training_rows()
            if not self.val_file:  # hold out val_fraction of the images, so no image is in both
                images = sorted({r["id"] for r in rows})
                order = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.split_seed)).tolist()
                held = {images[k] for k in order[: max(1, round(len(images) * self.val_fraction))]}
                rows = [r for r in rows if (r["id"] in held) == (split == "val")]
            paths = self._training_paths(rows)
            rows = [{k: v for k, v in r.items() if k != "folder"} for r in rows]
            usable = self.readable(rows, [paths[r["id"]] for r in rows], self.on_bad_image, split)
            return VQAMedDataset(usable, paths, pipeline, self.image_size, group_by_image=self._grouped(split))
        found = find_images_by_stem(folder)
        if rows is None:
            rows = [{"id": image_id} for image_id in sorted(found)]
        paths = image_paths(found, [r["id"] for r in rows], folder)
        usable = self.readable(rows, [paths[r["id"]] for r in rows], self.on_bad_image, split)
        return VQAMedDataset(usable, paths, pipeline, self.image_size)

    def _grouped(self, split: Split) -> bool:
        """VQA training batches hold whole images with all their questions (the image network runs once per
        image); validation and prediction keep one row per question, in file order."""
        return self.mode == "vqa" and split == "train"

    def _training_paths(self, rows: Sequence[dict[str, Any]]) -> dict[str, Path]:
        """Image id -> file, each id looked up in its own file's folder (an id in several training files is
        read from the first file's folder)."""
        found = {folder: find_images_by_stem(folder) for folder in dict.fromkeys(r["folder"] for r in rows)}
        paths: dict[str, Path] = {}
        for row in rows:
            if row["id"] not in paths:
                paths.update(image_paths(found[row["folder"]], [row["id"]], row["folder"]))
        return paths


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def answer_targets(answers: Sequence[str], vocabulary: Mapping[str, int]) -> torch.Tensor:
    """Class indices of answers; -100 (ignored by cross-entropy) for answers outside the vocabulary."""
    return torch.tensor([vocabulary.get(answer_key(a), -100) for a in answers])
