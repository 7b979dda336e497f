"""ImageCLEF 2020 lifelog data (LMRT): images with metadata, topics, relevance judgements with clusters.

Formats [assumption: configurable, the 2020 files are not public]:
- metadata CSV with a header, at least `image_id,timestamp` (ISO time or seconds), optionally
  `location,activity,concepts` (`;`-separated); images are `<images>/**/<image_id>.jpg`;
- topics: CSV `topic_id,title,description` with a header, or XML `<topic><id/><title/><description/></topic>`;
- judgements: CSV `topic_id,image_id,cluster_id` with a header.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from baselines.data.base import BaseDataModule, Split
from baselines.data.images import find_images_by_stem, load_rgb
from baselines.data.transforms import detection_pipeline, to_chw_float
from baselines.errors import FormatError, Problem, ProblemCollector


@dataclass(frozen=True)
class LifelogImage:
    image_id: str
    time: float  # seconds
    caption: str  # metadata words for optional contrastive fine-tuning


def _csv_rows(path: str | Path, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    path = Path(path)
    if not path.is_file():
        raise FormatError([Problem(str(path), None, "file not found")])
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise FormatError([Problem(str(path), 1, f"header lacks {', '.join(missing)}; got {reader.fieldnames}")])
        return [(number, row) for number, row in enumerate(reader, start=2)]


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.strip()).timestamp()


def read_metadata(path: str | Path) -> list[LifelogImage]:
    """Images in time order, with captions made of location, activity and concepts."""
    problems = ProblemCollector(path)
    images = []
    for number, row in _csv_rows(path, ("image_id", "timestamp")):
        try:
            time = _seconds(row["timestamp"])
        except ValueError:
            problems.add(number, f"timestamp {row['timestamp']!r} is neither seconds nor an ISO date-time")
            continue
        words = [row.get("activity") or "", row.get("location") or "", *(row.get("concepts") or "").split(";")]
        images.append(LifelogImage(row["image_id"].strip(), time, " ".join(w.strip() for w in words if w.strip())))
    problems.raise_if_any()
    return sorted(images, key=lambda image: (image.time, image.image_id))


def _query(title: str, description: str) -> str:
    return ". ".join(part for part in (title, description) if part)


def read_topics(path: str | Path) -> dict[str, str]:
    """topic id -> query text (title and description), from CSV or XML."""
    path = Path(path)
    if path.suffix.lower() == ".xml":
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise FormatError([Problem(str(path), exc.position[0], f"invalid XML: {exc}")]) from None
        topics = {}
        for topic in root.iter("topic"):
            fields = {child.tag.lower(): (child.text or "").strip() for child in topic}
            topics[fields.get("id", "")] = _query(fields.get("title", ""), fields.get("description", ""))
        return topics
    return {
        row["topic_id"].strip(): _query(row["title"].strip(), (row.get("description") or "").strip())
        for _, row in _csv_rows(path, ("topic_id", "title"))
    }


def read_judgements(path: str | Path) -> dict[str, dict[str, str]]:
    """topic id -> {relevant image id: cluster id}."""
    result: dict[str, dict[str, str]] = {}
    for _, row in _csv_rows(path, ("topic_id", "image_id", "cluster_id")):
        result.setdefault(row["topic_id"].strip(), {})[row["image_id"].strip()] = row["cluster_id"].strip()
    return result


class LifelogImages(Dataset):
    """Yields `{"id", "index", "image", "text", "time"}` (text: the metadata caption)."""

    def __init__(self, images: Sequence[LifelogImage], paths: dict[str, Path], size: int) -> None:
        self.images = list(images)
        self.paths = paths
        self.transform = detection_pipeline(size, with_boxes=False)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.images[index]
        pixels = self.transform(image=load_rgb(self.paths[item.image_id]))["image"]
        return {
            "id": item.image_id,
            "index": index,
            "image": to_chw_float(pixels),
            "text": item.caption,
            "time": item.time,
        }


class Topics(Dataset):
    def __init__(self, topics: dict[str, str]) -> None:
        self.items = list(topics.items())

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        topic_id, text = self.items[index]
        return {"id": topic_id, "index": index, "text": text}


class LifelogDataModule(BaseDataModule):
    """Image-caption pairs from the metadata (fit), topics (predict) and the whole collection (index).

    Args:
        images: Root of the lifelog images.
        metadata: Metadata CSV (image_id, timestamp, ...).
        topics: Topics file (CSV or XML).
        image_size: Square input size.
        val_fraction: Share of images held out for validation of the optional fine-tuning.
        split_seed: Seed of that split.
        batch_size, num_workers, pin_memory, persistent_workers, predict_batch_size: See BaseDataModule.
    """

    def __init__(
        self,
        images: str,
        metadata: str,
        topics: str,
        image_size: int = 224,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        predict_batch_size: int | None = None,
    ) -> None:
        super().__init__(batch_size, num_workers, pin_memory, persistent_workers, predict_batch_size)
        self.images_root, self.metadata, self.topics = images, metadata, topics
        self.image_size = image_size
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self._collection: LifelogImages | None = None

    @property
    def collection(self) -> LifelogImages:
        """Every image of the lifelog in time order: what the retriever indexes."""
        if self._collection is None:
            images = read_metadata(self.metadata)
            paths = find_images_by_stem(self.images_root)
            missing = [i.image_id for i in images if i.image_id not in paths]
            if missing:
                raise FileNotFoundError(
                    f"{self.metadata}: {len(missing)} images not under {self.images_root}: {missing[:3]}"
                )
            self._collection = LifelogImages(images, paths, self.image_size)
        return self._collection

    def collection_loader(self) -> torch.utils.data.DataLoader:
        return self._make_loader(self.collection, self.predict_batch_size)

    def build_dataset(self, split: Split) -> Dataset:
        if split == "predict":
            return Topics(read_topics(self.topics))
        collection = self.collection
        order = np.random.default_rng(self.split_seed).permutation(len(collection.images))
        held = set(order[: max(1, round(len(order) * self.val_fraction))].tolist())
        chosen = [image for k, image in enumerate(collection.images) if (k in held) == (split == "val")]
        return LifelogImages(chosen, collection.paths, self.image_size)
