"""ImageCLEF 2020 lifelog data (LMRT): images with metadata, topics, relevance judgements with clusters.

Image ids are file names, extension included, as the released ground truth names them
(`20160905_180822_000.jpg`, `B00007061_21I6X0_20180505_175842E.JPG`): the image of id X is the file
`<images>/**/X`, and a run file written from this collection carries ids the ground truth can match.
Formats (baselines.io.formats.lifelog, docs/tasks/lifelog.md):
- images as released, one folder per day (any depth): without a metadata file the collection is every image
  there, timed by its file name (`20160905_180822_000.jpg`), which is all zero-shot retrieval needs;
- ground truth `topic, image_id, cluster` and clusters `topic, cluster`, as released (no header);
- optional metadata CSV with a header, at least `image_id,timestamp` (ISO time or seconds), optionally
  `location,activity,concepts` (`;`-separated): the captions fine-tuning needs [the project's layout: the
  released metadata is per minute];
- topics: CSV `topic_id,title,description` with a header, or XML `<topic><id/><title/><description/></topic>`
  [the project's layout: the released topics are a PDF].
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from baselines.data.base import BaseDataModule, Loader, Split, collate_dicts
from baselines.data.transforms import detection_pipeline, to_chw_uint8
from baselines.errors import MissingDataError, listing
from baselines.io.formats.lifelog import LifelogImage, images_from_names, read_metadata, read_topics
from baselines.io.images import BadImagePolicy, ImageReadError, find_images_by_name, load_rgb

log = logging.getLogger(__name__)


class LifelogImages(Dataset):
    """Yields `{"id", "index", "image", "text", "time", "unreadable"}` (text: the metadata caption).

    Images are decoded lazily (a collection holds ~190k): under policy "error" an unreadable image
    stops the run naming the file; under "skip" its sample carries the reason in `unreadable` and
    `collate_readable` moves it from the batch to `batch["skipped"]`, where the consumer reports it.
    """

    def __init__(
        self, images: Sequence[LifelogImage], paths: dict[str, Path], size: int, policy: BadImagePolicy = "error"
    ) -> None:
        self.images = list(images)
        self.paths = paths
        self.size = size
        self.policy: BadImagePolicy = policy
        self.transform = detection_pipeline(size, with_boxes=False)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.images[index]
        sample: dict[str, Any] = {"id": item.image_id, "index": index, "text": item.caption, "time": item.time}
        try:
            path = self.paths.get(item.image_id)
            if path is None:
                raise ImageReadError(f"image {item.image_id!r} not found under the image root")
            pixels = self.transform(image=load_rgb(path, longest_at_least=self.size))["image"]
        except ImageReadError as exc:
            if self.policy == "error":
                raise
            return {**sample, "image": torch.zeros(3, self.size, self.size, dtype=torch.uint8), "unreadable": str(exc)}
        return {**sample, "image": to_chw_uint8(pixels), "unreadable": ""}


def collate_readable(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """collate_dicts over the readable samples; the others' reasons go to `skipped` (the batch may be empty)."""
    good = [s for s in samples if not s.get("unreadable")]
    skipped = [s["unreadable"] for s in samples if s.get("unreadable")]
    for reason in skipped:
        log.warning("skipping unreadable lifelog image: %s", reason)
    batch = collate_dicts(good) if good else {"id": [], "index": torch.zeros(0, dtype=torch.long)}
    batch["skipped"] = skipped
    return batch


class Topics(Dataset):
    def __init__(self, topics: dict[str, str]) -> None:
        self.items = list(topics.items())

    def __len__(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> list[str]:
        return [topic_id for topic_id, _ in self.items]

    @property
    def files(self) -> dict[str, Path]:
        return {}  # topics come from no file of their own

    def __getitem__(self, index: int) -> dict[str, Any]:
        topic_id, text = self.items[index]
        return {"id": topic_id, "index": index, "text": text}


class LifelogDataModule(BaseDataModule):
    """Image-caption pairs from the metadata (fit), topics (predict) and the whole collection (index).

    Args:
        images: Root of the lifelog images (the released day folders).
        metadata: Metadata CSV (image_id = file name with extension, timestamp, ...); None: the collection is
            every image under `images`, timed by its file name, without captions (zero-shot retrieval only).
        topics: Topics file (CSV or XML).
        image_size: Square input size.
        val_fraction: Share of images held out for validation of the optional fine-tuning.
        split_seed: Seed of that split.
        on_bad_image: "error" (default) stops at the first missing or unreadable image, naming it; "skip"
            leaves such images out of the index and of training and reports them (`skipped["collection"]`).
        loader: Batch sizes and loader workers (see BaseDataModule).
    """

    def __init__(
        self,
        images: str,
        metadata: str | None,
        topics: str,
        image_size: int = 224,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        on_bad_image: BadImagePolicy = "error",
        loader: Loader | None = None,
    ) -> None:
        super().__init__(loader)
        self.images_root, self.metadata, self.topics = images, metadata, topics
        self.image_size = image_size
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.on_bad_image: BadImagePolicy = on_bad_image
        self._collection: LifelogImages | None = None

    collate_fn = staticmethod(collate_readable)

    @property
    def collection(self) -> LifelogImages:
        """Every image of the lifelog in time order: what the retriever indexes."""
        if self._collection is None:
            paths = find_images_by_name(self.images_root)
            if self.metadata is None:
                images = images_from_names(paths, self.images_root)
            else:
                images = read_metadata(self.metadata)
            missing = [i.image_id for i in images if i.image_id not in paths]
            if missing and self.on_bad_image == "error":
                raise MissingDataError(
                    f"{self.metadata}: {len(missing)} images not under {self.images_root} (an image_id is the "
                    "image's file name, extension included; set data.on_bad_image=skip to skip and report them):\n"
                    + listing(missing)
                )
            self._collection = LifelogImages(images, paths, self.image_size, self.on_bad_image)
        return self._collection

    def prediction_candidates(self) -> frozenset[str]:
        """The collection's image ids: what an LMRT run may rank."""
        return frozenset(image.image_id for image in self.collection.images)

    def collection_loader(self) -> torch.utils.data.DataLoader:
        return self._make_loader(self.collection, self.predict_batch_size)

    def build_dataset(self, split: Split) -> Dataset:
        if split == "predict":
            return Topics(read_topics(self.topics))
        if self.metadata is None:
            raise ValueError(
                "fine-tuning (train=true) learns from captions made of the metadata: give data.metadata=<CSV "
                "image_id,timestamp,location,activity,concepts> (docs/tasks/lifelog.md), or predict zero-shot "
                "with train=false"
            )
        collection = self.collection
        order = np.random.default_rng(self.split_seed).permutation(len(collection.images))
        held = set(order[: max(1, round(len(order) * self.val_fraction))].tolist())
        chosen = [image for k, image in enumerate(collection.images) if (k in held) == (split == "val")]
        return LifelogImages(chosen, collection.paths, self.image_size, self.on_bad_image)
