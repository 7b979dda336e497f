"""EilatMixx (Shathe/CoralSeg, licence not stated: use locally, never commit) -> the ImageCLEFcoral 2020 layout.

Source: `Datasets/EilatMixx/` of Shathe/CoralSeg-Learning-coral-segmentation-from-sparse-annotations@4d6ce3e:
`images/{train,test}/<name>.png` (1380x920 crops of reef photos) and `labels/{train,test}/<name>.png`
(dense masks, one value per pixel: 0-9 the classes of `legend.txt`, 255 unlabelled).

Class map. The coral tasks score the 13 substrates of 2020 (`baselines.tasks.coral`, a fixed class list
in the run-file grammar and the scorer), so EilatMixx's classes are mapped onto them by growth form;
what is no coral substrate of the 13 (or is mixed) becomes background, as unannotated reef is in 2020:

    0 Faviidae -> c_hard_coral_boulder          1 Stylophora -> c_hard_coral_branching
    2 Platygyra -> c_hard_coral_boulder         3 Acropora -> c_hard_coral_branching
    4 Pocillopora -> c_hard_coral_branching     5 Other Hard Coral -> c_hard_coral_submassive
    7 Millepora -> c_fire_coral_millepora
    6 Bare substrate, 8 Unknown, 9 Other invertebrates (soft corals, sponges and others mixed),
    255 unlabelled -> background (no region)

"Other Hard Coral" has no growth form in EilatMixx; submassive stands in for it (a catch-all, stated).

Regions: each connected component of a substrate's mask (8-connected, at least `--min-area` pixels) is
one region; polygons are its outer contour (holes are filled, as the 2020 polygon grammar has no holes),
simplified by `--epsilon` pixels; boxes are its bounding box. Written under OUT:

    coral/annotations_train_2020_{boxes,polygons}.cvs.txt   training annotations (`img_id idx class 1 ...`)
    coral/annotations_test_2020_{boxes,polygons}.cvs.txt    test ground truth, for `baselines evaluate --gt`
    coral/{train,test}/<img_id>.png                          images (ids are the file stems)
    coral/test_masks/<img_id>.png                            dense test masks in the mapped classes (0
                                                             background, 1 + coral class index, 255
                                                             unlabelled): pixel accuracy and mIoU

    python scripts/real_data/eilatmixx.py SOURCES/coralseg/Datasets/EilatMixx OUT
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from baselines.io.atomic import atomic_write_text
from baselines.io.formats.coral import CORAL_CLASSES
from baselines.io.images import list_images
from baselines.io.polygons import mask_to_polygons

EILAT_CLASSES: tuple[str, ...] = (
    "Faviidae",
    "Stylophora",
    "Platygyra",
    "Acropora",
    "Pocillopora",
    "Other Hard Coral",
    "Bare-subst.",
    "Millepora",
    "Unknown",
    "Other Inv.",
)
CLASS_MAP: dict[int, str | None] = {
    0: "c_hard_coral_boulder",
    1: "c_hard_coral_branching",
    2: "c_hard_coral_boulder",
    3: "c_hard_coral_branching",
    4: "c_hard_coral_branching",
    5: "c_hard_coral_submassive",
    6: None,
    7: "c_fire_coral_millepora",
    8: None,
    9: None,
}
IGNORE = 255


def mapped_mask(labels: np.ndarray, where: str) -> np.ndarray:
    """EilatMixx label values -> 0 background, 1 + coral class index, 255 unlabelled.

    Raises:
        ValueError: For a value outside 0-9 and 255, naming the file.
    """
    unknown = sorted(set(np.unique(labels).tolist()) - set(CLASS_MAP) - {IGNORE})
    if unknown:
        raise ValueError(f"{where}: label values {unknown} are not EilatMixx classes (0-9, 255 unlabelled)")
    lut = np.zeros(256, np.uint8)
    lut[IGNORE] = IGNORE
    for value, name in CLASS_MAP.items():
        lut[value] = 0 if name is None else CORAL_CLASSES.index(name) + 1
    return lut[labels]


def annotation_lines(
    image_id: str, mask: np.ndarray, min_area: float = 64.0, epsilon: float = 1.0
) -> tuple[list[str], list[str]]:
    """The box and polygon annotation lines of one mapped mask (coral classes in class-list order)."""
    boxes: list[str] = []
    polygons: list[str] = []
    for index, name in enumerate(CORAL_CLASSES):
        binary = (mask == index + 1).astype(np.uint8)
        if not binary.any():
            continue
        count, components, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        for component in range(1, count):
            if stats[component, cv2.CC_STAT_AREA] < min_area:
                continue
            x, y, w, h = (int(v) for v in stats[component, :4])
            # `xmin ymax xmax ymin`, the order of the released box files
            boxes.append(f"{image_id} {len(boxes)} {name} 1 {x} {y + h - 1} {x + w - 1} {y}")
            for polygon in mask_to_polygons(components == component, epsilon, min_area):
                coords = " ".join(str(int(v)) for v in np.asarray(polygon).reshape(-1))
                polygons.append(f"{image_id} {len(polygons)} {name} 1 {coords}")
    return boxes, polygons


def _read_labels(path: Path) -> np.ndarray:
    labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if labels is None or labels.ndim != 2:
        raise ValueError(f"{path}: not a single-channel label image")
    return labels


def convert(source: Path, out: Path, min_area: float = 64.0, epsilon: float = 1.0) -> dict[str, list[str]]:
    """Writes the coral layout under out/coral; returns split -> image ids.

    Raises:
        ValueError: For an image without its label file, or a label file with unknown values.
    """
    root = out / "coral"
    splits: dict[str, list[str]] = {}
    for split in ("train", "test"):
        (root / split).mkdir(parents=True, exist_ok=True)
        boxes: list[str] = []
        polygons: list[str] = []
        for image in list_images(source / "images" / split):
            label_file = source / "labels" / split / image.name
            if not label_file.is_file():
                raise ValueError(f"{image}: no label file {label_file}")
            mask = mapped_mask(_read_labels(label_file), str(label_file))
            image_id = image.stem
            shutil.copyfile(image, root / split / f"{image_id}.png")
            if split == "test":
                (root / "test_masks").mkdir(exist_ok=True)
                cv2.imwrite(str(root / "test_masks" / f"{image_id}.png"), mask)
            b, p = annotation_lines(image_id, mask, min_area, epsilon)
            boxes += b
            polygons += p
            splits.setdefault(split, []).append(image_id)
        atomic_write_text(root / f"annotations_{split}_2020_boxes.cvs.txt", "".join(f"{b}\n" for b in boxes))
        atomic_write_text(root / f"annotations_{split}_2020_polygons.cvs.txt", "".join(f"{p}\n" for p in polygons))
    return splits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the EilatMixx folder (images/, labels/)")
    parser.add_argument("out", type=Path, help="the $DATA root to write coral/ under")
    parser.add_argument("--min-area", type=float, default=64.0, help="smallest region kept, pixels")
    parser.add_argument("--epsilon", type=float, default=1.0, help="polygon simplification, pixels")
    args = parser.parse_args(argv)
    splits = convert(args.source, args.out, args.min_area, args.epsilon)
    print(f"coral: {len(splits['train'])} training and {len(splits['test'])} test images under {args.out}/coral")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
