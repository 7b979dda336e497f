"""Sketch2Code (microsoft/ailab, MIT) -> the drawnUI 2020 layout, as `configs/data/drawnui.yaml` reads it.

Source: `Sketch2Code/model/` of microsoft/ailab@89fe2fc (`dataset.json`, an Azure Custom Vision export of
149 hand-drawn web forms, and `images/<id>.png`). Regions there are `left, top, width, height` as
fractions of the image; they become `WxH+X+Y` pixel boxes in the grouped-region grammar.

Class map (Sketch2Code's 10 tags onto 10 of drawnUI's 21 classes; the other 11 never occur):

    Label -> label          Heading -> header       CheckBox -> checkbox    Button -> button
    TextBox -> textinput    Image -> image          Paragraph -> paragraph  RadioButton -> radiobutton
    ComboBox -> dropdown    Link -> link

Split: the images sorted by id, shuffled with `random.Random(seed)`, the first `--test-fraction` of them
(rounded) are the test set. Written under OUT:

    drawnui/train-set.csv   training ground truth (`image.png;class 1:WxH+X+Y,...`)
    drawnui/train/          training images (copied, names unchanged)
    drawnui/test/           test images
    drawnui/test-set.csv    test ground truth, for `baselines evaluate --gt`

    python scripts/real_data/sketch2code.py SOURCES/ailab/Sketch2Code/model OUT
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections.abc import Sequence
from pathlib import Path

from baselines.io.atomic import atomic_write_text
from baselines.io.formats.drawnui import DRAWNUI_CLASSES
from baselines.io.grouped import format_grouped_lines
from baselines.types import Region

CLASS_MAP: dict[str, str] = {
    "Label": "label",
    "Heading": "header",
    "CheckBox": "checkbox",
    "Button": "button",
    "TextBox": "textinput",
    "Image": "image",
    "Paragraph": "paragraph",
    "RadioButton": "radiobutton",
    "ComboBox": "dropdown",
    "Link": "link",
}


def _regions(entry: dict, where: str) -> list[Region]:
    width, height = float(entry["width"]), float(entry["height"])
    regions = []
    for number, region in enumerate(entry.get("regions") or []):
        tag = region.get("tagName")
        if tag not in CLASS_MAP:
            raise ValueError(f"{where}: region {number}: tag {tag!r} is not one of {', '.join(CLASS_MAP)}")
        x0, y0 = float(region["left"]) * width, float(region["top"]) * height
        x1, y1 = x0 + float(region["width"]) * width, y0 + float(region["height"]) * height
        x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(width, x1), min(height, y1)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue  # nothing left inside the image
        regions.append(Region(DRAWNUI_CLASSES.index(CLASS_MAP[tag]), 1.0, (x0, y0, x1, y1)))
    return regions


def convert(source: Path, out: Path, test_fraction: float = 0.2, seed: int = 0) -> dict[str, list[str]]:
    """Writes the drawnUI layout under out/drawnui; returns split -> image ids (file names).

    Raises:
        ValueError: For an unknown tag or an entry without its image, naming the entry.
    """
    entries = json.loads((source / "dataset.json").read_text())
    truth: dict[str, list[Region]] = {}
    paths: dict[str, Path] = {}
    for entry in entries:
        where = f"{source / 'dataset.json'}: entry {entry.get('id')!r}"
        image = source / "images" / f"{entry['id']}.png"
        if not image.is_file():
            raise ValueError(f"{where}: image {image} is missing")
        truth[image.name], paths[image.name] = _regions(entry, where), image
    ids = sorted(truth)
    random.Random(seed).shuffle(ids)
    n_test = round(len(ids) * test_fraction)
    splits = {"test": sorted(ids[:n_test]), "train": sorted(ids[n_test:])}
    root = out / "drawnui"
    for split, names in splits.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(paths[name], root / split / name)
        lines = format_grouped_lines({n: truth[n] for n in names if truth[n]}, DRAWNUI_CLASSES, "box")
        atomic_write_text(root / f"{split}-set.csv", lines)
    return splits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="Sketch2Code/model folder (dataset.json, images/)")
    parser.add_argument("out", type=Path, help="the $DATA root to write drawnui/ under")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    splits = convert(args.source, args.out, args.test_fraction, args.seed)
    print(f"drawnui: {len(splits['train'])} training and {len(splits['test'])} test images under {args.out}/drawnui")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
