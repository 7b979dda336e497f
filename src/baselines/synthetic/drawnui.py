"""Synthetic drawnUI: hand-drawn-looking website mock-ups with exact ground truth in the official CSV.

Each of the 21 classes has its own glyph (a checkbox is a small crossed square, a slider a line with a
knob, ...) drawn with jittered pen strokes on paper-like background, laid out in rows like a page.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from baselines.io.atomic import atomic_write_text
from baselines.io.formats.drawnui import DRAWNUI_CLASSES
from baselines.io.grouped import format_grouped_lines
from baselines.synthetic.sketch import Pen, paper
from baselines.types import Region

# (min w, max w, min h, max h) at a page width of 360 pixels.
_SIZES: dict[str, tuple[int, int, int, int]] = {
    "paragraph": (120, 300, 34, 60),
    "dropdown": (100, 180, 22, 30),
    "checkbox": (14, 20, 14, 20),
    "radiobutton": (14, 20, 14, 20),
    "rating": (70, 110, 16, 22),
    "toggle": (34, 46, 16, 22),
    "textarea": (140, 300, 60, 100),
    "datepicker": (100, 170, 22, 30),
    "stepperinput": (80, 140, 22, 30),
    "slider": (100, 220, 14, 20),
    "video": (120, 240, 80, 130),
    "label": (40, 100, 10, 16),
    "table": (150, 300, 60, 110),
    "list": (100, 200, 40, 80),
    "header": (120, 260, 18, 28),
    "button": (60, 120, 24, 34),
    "image": (80, 200, 60, 130),
    "linebreak": (200, 330, 6, 10),
    "container": (200, 340, 90, 160),
    "link": (40, 100, 12, 18),
    "textinput": (100, 200, 22, 30),
}


def _draw(pen: Pen, name: str, x: float, y: float, w: float, h: float) -> None:
    """Draws the glyph of one UI element class inside the box (x, y, w, h)."""
    cy = y + h / 2
    match name:
        case "paragraph":
            for i in range(4):
                pen.scribble(x, y + 5 + i * (h - 10) / 3, w * (0.7 if i == 3 else 1))
        case "dropdown":
            pen.rect(x, y, w, h)
            pen.triangle([(x + w - 16, y + h * 0.35), (x + w - 6, y + h * 0.35), (x + w - 11, y + h * 0.7)], True)
        case "checkbox" | "image":
            pen.rect(x, y, w, h)
            pen.line((x, y), (x + w, y + h))
            pen.line((x + w, y), (x, y + h))
        case "radiobutton":
            pen.circle(x + w / 2, cy, w / 2)
            pen.circle(x + w / 2, cy, w / 5, filled=True)
        case "rating":
            for i in range(5):
                pen.triangle([(x + i * w / 5, y + h), (x + (i + 0.5) * w / 5, y), (x + (i + 1) * w / 5 - 2, y + h)])
        case "toggle":
            pen.rect(x, y, w, h)
            pen.circle(x + h / 2, cy, h / 2 - 3, filled=True)
        case "textarea":
            pen.rect(x, y, w, h)
            pen.line((x + w - 10, y + h - 3), (x + w - 3, y + h - 10))
            pen.line((x + w - 6, y + h - 3), (x + w - 3, y + h - 6))
        case "datepicker":
            pen.rect(x, y, w, h)
            pen.rect(x + w - h + 4, y + 4, h - 8, h - 8)
            pen.line((x + w - h + 4, y + 9), (x + w - 4, y + 9))
        case "stepperinput":
            pen.rect(x, y, w, h)
            pen.line((x + w - 14, cy), (x + w - 4, cy))
            pen.line((x + w - 9, y + 4), (x + w - 9, y + h - 4))
            pen.line((x + 4, cy), (x + 14, cy))
        case "slider":
            pen.line((x, cy), (x + w, cy))
            pen.circle(x + pen.rng.uniform(0.2, 0.8) * w, cy, h / 2 - 1, filled=True)
        case "video":
            pen.rect(x, y, w, h)
            pen.triangle([(x + w * 0.42, y + h * 0.3), (x + w * 0.42, y + h * 0.7), (x + w * 0.62, cy)], True)
        case "label":
            pen.scribble(x, cy, w, amplitude=h / 4)
        case "table":
            pen.rect(x, y, w, h)
            for i in range(1, 4):
                pen.line((x, y + i * h / 4), (x + w, y + i * h / 4))
            for i in range(1, 3):
                pen.line((x + i * w / 3, y), (x + i * w / 3, y + h))
        case "list":
            for i in range(3):
                pen.circle(x + 4, y + (i + 0.5) * h / 3, 3, filled=True)
                pen.scribble(x + 12, y + (i + 0.5) * h / 3, w - 12)
        case "header":
            pen.scribble(x, cy, w, amplitude=h / 5, thickness=4)
        case "button":
            pen.rect(x, y, w, h)
            pen.rect(x + 3, y + 3, w - 6, h - 6)
            pen.scribble(x + w * 0.25, cy, w * 0.5)
        case "linebreak":
            pen.line((x, cy), (x + w, cy), thickness=2)
        case "container":
            pen.rect(x, y, w, h)
            pen.line((x, y + 10), (x + w, y + 10))
        case "link":
            pen.scribble(x, y + h * 0.4, w, amplitude=2)
            pen.line((x, y + h - 2), (x + w, y + h - 2))
        case "textinput":
            pen.rect(x, y, w, h)
        case _:
            raise ValueError(f"no glyph for class {name!r}")


def render_page(rng: np.random.Generator, width: int = 360, height: int = 480) -> tuple[np.ndarray, list[Region]]:
    """Draws one page; returns the RGB image and its ground-truth boxes (pixels, xyxy)."""
    image = paper(height, width, rng)
    regions: list[Region] = []
    scale = width / 360
    y = 8.0 * scale
    while True:
        names = list(rng.choice(len(DRAWNUI_CLASSES), size=int(rng.integers(1, 3))))
        sizes = []
        for label in names:
            w0, w1, h0, h1 = _SIZES[DRAWNUI_CLASSES[label]]
            sizes.append((rng.uniform(w0, w1) * scale, rng.uniform(h0, h1) * scale))
        total_w = sum(w for w, _ in sizes) + 12 * scale * (len(sizes) - 1)
        if total_w > width - 16 * scale:
            names, sizes = names[:1], sizes[:1]
            sizes[0] = (min(sizes[0][0], width - 16 * scale), sizes[0][1])
        row_h = max(h for _, h in sizes)
        if y + row_h > height - 8 * scale:
            break
        x = rng.uniform(8 * scale, max(8 * scale, width - 8 * scale - sum(w for w, _ in sizes) - 12 * scale))
        for label, (w, h) in zip(names, sizes, strict=False):
            top = y + (row_h - h) / 2
            pen = Pen(image, rng)
            _draw(pen, DRAWNUI_CLASSES[label], x, top, w, h)
            pad = 2.0
            box = (
                max(0.0, x - pad),
                max(0.0, top - pad),
                min(width, x + w + pad),
                min(height, top + h + pad),
            )
            regions.append(Region(int(label), 1.0, tuple(round(v) for v in box)))  # type: ignore[arg-type]
            x += w + rng.uniform(12, 30) * scale
            if x > width - 20 * scale:
                break
        y += row_h + rng.uniform(10, 24) * scale
    return image, regions


# The official layout under `$DATA/drawnui/` (configs/data/drawnui.yaml, docs/tasks/drawnui.md): images in
# `train/` and `test/`, the development ground truth; the test ground truth, never released, is named as
# scripts/real_data/sketch2code.py names it.
TRAIN_ANNOTATIONS, TEST_ANNOTATIONS = "train-set.csv", "test-set.csv"


def generate(
    root: str | Path, n_train: int = 160, n_test: int = 40, seed: int = 0, width: int = 360, height: int = 480
) -> Path:
    """Writes the official drawnUI layout under root (`$DATA/drawnui`): `train-set.csv`, `train/*.jpg`,
    `test/*.jpg`, and the test ground truth `test-set.csv`.

    Returns:
        root. Existing files are regenerated, deterministically for a given seed.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, count, truth_file in (("train", n_train, TRAIN_ANNOTATIONS), ("test", n_test, TEST_ANNOTATIONS)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        truth: dict[str, list[Region]] = {}
        for i in range(count):
            image, regions = render_page(rng, width, height)
            name = f"{split}_{i:05d}.jpg"
            cv2.imwrite(str(folder / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
            truth[name] = regions
        atomic_write_text(root / truth_file, format_grouped_lines(truth, DRAWNUI_CLASSES, "box"))
    return root
