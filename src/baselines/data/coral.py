"""ImageCLEFcoral 2020 training records: the parsed annotations (`formats.coral`) tied to image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from baselines.data.detection import DetectionRecord
from baselines.data.formats.coral import AnnotationKind, parse_coral_annotations
from baselines.data.images import list_images


def images_by_id(image_dir: str | Path) -> dict[str, Path]:
    """Coral image ids are file stems (`2018_0714_112502_037` for `2018_0714_112502_037.JPG`)."""
    return {p.stem: p for p in list_images(image_dir)}


def read_coral_records(
    annotations: str | Path, image_dir: str | Path, kind: AnnotationKind = "box"
) -> list[DetectionRecord]:
    """Detection records (boxes; for polygon files their bounding boxes) for the images in image_dir.

    Raises:
        FileNotFoundError: If an annotated image is not in image_dir.
    """
    regions, _ = parse_coral_annotations(annotations, kind)
    paths = images_by_id(image_dir)
    records = []
    for image_id, items in regions.items():
        if image_id not in paths:
            raise FileNotFoundError(f"{annotations}: image {image_id!r} has no file in {image_dir}")
        boxes = np.array([r.box for r in items], dtype=np.float32).reshape(-1, 4)
        labels = np.array([r.label for r in items], dtype=np.int64)
        polygons = tuple(r.polygon for r in items) if kind == "polygon" else ()
        records.append(DetectionRecord(image_id, paths[image_id], boxes, labels, polygons))
    return records
