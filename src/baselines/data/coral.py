"""ImageCLEFcoral 2020 training records: the parsed annotations (`formats.coral`) tied to image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from baselines.data.detection import DetectionRecord
from baselines.io.formats.coral import AnnotationKind, parse_coral_annotations
from baselines.io.images import image_paths, images_by_id


def read_coral_records(
    annotations: str | Path, image_dir: str | Path, kind: AnnotationKind = "box"
) -> list[DetectionRecord]:
    """Detection records (boxes; for polygon files their bounding boxes) for the images in image_dir, whose
    ids are file stems (`2018_0714_112502_037` for `2018_0714_112502_037.JPG`).

    An annotated image without a file gets the path `<image_dir>/<id>.jpg`, which the data module's readable
    check reports as missing, with every other missing or unreadable file (or skips, under on_bad_image=skip).

    Raises:
        FormatError: For a malformed annotation line, or two image files with one stem.
    """
    regions, _ = parse_coral_annotations(annotations, kind)
    paths = image_paths(images_by_id(image_dir, "stem"), regions, image_dir)
    records = []
    for image_id, items in regions.items():
        boxes = np.array([r.box for r in items], dtype=np.float32).reshape(-1, 4)
        labels = np.array([r.label for r in items], dtype=np.int64)
        polygons = tuple(r.polygon for r in items) if kind == "polygon" else ()
        records.append(DetectionRecord(image_id, paths[image_id], boxes, labels, polygons))
    return records
