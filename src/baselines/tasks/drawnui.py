"""ImageCLEFdrawnUI 2020: detect 21 kinds of hand-drawn website UI elements.

Ground truth and run files: `image.jpg;class conf:WxH+X+Y,...;class2 ...` (see runfiles.grouped).
Primary metric mAP@0.5; overall precision@0.5 is the secondary one, recall@0.5 is reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from baselines.data.detection import DetectionRecord
from baselines.runfiles.grouped import parse_grouped_file
from baselines.tasks.regions import RegionTask

DRAWNUI_CLASSES: tuple[str, ...] = (
    "paragraph",
    "dropdown",
    "checkbox",
    "radiobutton",
    "rating",
    "toggle",
    "textarea",
    "datepicker",
    "stepperinput",
    "slider",
    "video",
    "label",
    "table",
    "list",
    "header",
    "button",
    "image",
    "linebreak",
    "container",
    "link",
    "textinput",
)

TASKS = [RegionTask("drawnui", DRAWNUI_CLASSES, kind="box")]


def read_drawnui_annotations(annotations: str | Path, image_dir: str | Path) -> list[DetectionRecord]:
    """Reads the official drawnUI ground-truth CSV for the images in image_dir.

    Raises:
        FormatError: For any malformed line, with its number.
        FileNotFoundError: If an annotated image is not in image_dir.
    """
    image_dir = Path(image_dir)
    truth = parse_grouped_file(annotations, DRAWNUI_CLASSES, "box")
    records = []
    for image_id, regions in truth.items():
        path = image_dir / image_id
        if not path.is_file():
            raise FileNotFoundError(f"{annotations}: image {image_id!r} is not in {image_dir}")
        boxes = np.array([r.box for r in regions], dtype=np.float32).reshape(-1, 4)
        labels = np.array([r.label for r in regions], dtype=np.int64)
        records.append(DetectionRecord(image_id, path, boxes, labels))
    return records
