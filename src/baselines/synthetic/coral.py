"""Synthetic coral scenes: textured blobs of the 13 substrates on a seabed, with exact ground truth in
the official box and polygon annotation files (quirks included: boxes written `xmin ymax xmax ymin`,
some polygon vertices at -1, a few one-point polygons), plus a test-subset file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from baselines.io.atomic import atomic_write_text
from baselines.io.formats.coral import CORAL_CLASSES
from baselines.io.polygons import fill_polygons

SUBSETS = ("same_location", "similar_location", "geographically_similar", "geographically_distinct")
# one hue per substrate (OpenCV hue 0..179) and a pattern: 0 stripes, 1 dots, 2 rings
_HUES = np.linspace(0, 170, len(CORAL_CLASSES)).round().astype(int)
_PATTERNS = [i % 3 for i in range(len(CORAL_CLASSES))]


def _seabed(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    coarse = rng.normal(0, 18, size=(height // 16 + 1, width // 16 + 1, 3)).astype(np.float32)
    noise = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    base = np.array([150, 140, 90], np.float32) + rng.uniform(-15, 15, 3)  # sandy, RGB
    return np.clip(base + noise + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)


def _blob(cx: float, cy: float, radius: float, rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(9, 16))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.65, 1.0, n)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).round()


def _texture(label: int, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    hue = int(_HUES[label])
    hsv = np.zeros((height, width, 3), np.uint8)
    hsv[..., 0] = hue
    hsv[..., 1] = int(rng.integers(150, 230))
    hsv[..., 2] = int(rng.integers(150, 230))
    yy, xx = np.mgrid[0:height, 0:width]
    pattern = _PATTERNS[label]
    if pattern == 0:
        shade = np.sin((xx + yy) / 3.0) > 0.3
    elif pattern == 1:
        shade = (np.sin(xx / 2.5) * np.sin(yy / 2.5)) > 0.5
    else:
        cy, cx = height / 2, width / 2
        shade = np.sin(np.hypot(xx - cx, yy - cy) / 2.0) > 0.4
    hsv[..., 2] = np.where(shade, hsv[..., 2] // 2, hsv[..., 2])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def render_scene(
    rng: np.random.Generator, width: int = 480, height: int = 360
) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """One scene; returns the RGB image and (label, (N, 2) polygon) per substrate, non-overlapping."""
    image = _seabed(height, width, rng)
    taken = np.zeros((height, width), bool)
    regions: list[tuple[int, np.ndarray]] = []
    for _ in range(int(rng.integers(4, 9))):
        for _attempt in range(20):
            radius = rng.uniform(height * 0.07, height * 0.18)
            cx, cy = rng.uniform(radius, width - radius), rng.uniform(radius, height - radius)
            polygon = _blob(cx, cy, radius, rng)
            mask = fill_polygons([polygon], height, width) > 0
            if not (mask & taken).any():
                break
        else:
            continue
        label = int(rng.integers(len(CORAL_CLASSES)))
        texture = _texture(label, height, width, rng)
        image[mask] = texture[mask]
        taken |= cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        regions.append((label, polygon))
    return image, regions


def _annotation_lines(
    image_id: str, regions: list[tuple[int, np.ndarray]], quirks: bool, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    boxes, polygons = [], []
    for idx, (label, polygon) in enumerate(regions):
        name = CORAL_CLASSES[label]
        x0, y0 = polygon.min(0).astype(int)
        x1, y1 = polygon.max(0).astype(int)
        boxes.append(f"{image_id} {idx} {name} 1 {x0} {y1} {x1} {y0}")  # the official xmin ymax xmax ymin order
        coords = [int(v) for v in polygon.reshape(-1)]
        if quirks and rng.random() < 0.05:
            coords += [-1, -1]  # a vertex at -1, as in the official files
        polygons.append(f"{image_id} {idx} {name} 1 " + " ".join(map(str, coords)))
    if quirks and rng.random() < 0.1:
        x, y = (int(v) for v in rng.integers(0, 100, 2))
        polygons.append(f"{image_id} {len(regions)} {CORAL_CLASSES[0]} 1 {x} {y}")  # one-point polygon
    return boxes, polygons


# The official layout under `$DATA/coral/` (configs/data/coral_boxes.yaml, docs/tasks/coral.md): images
# `<img_id>.JPG` in `train/` and `test/`, the training annotations as released; the test ground truth, never
# released, is named as scripts/real_data/eilatmixx.py names it, and the subsets file is the project's.
ANNOTATIONS = {
    (split, kind): f"annotations_{split}_2020_{kind}.cvs.txt"
    for split in ("train", "test")
    for kind in ("boxes", "polygons")
}
TEST_SUBSETS = "test_subsets.txt"


def generate(
    root: str | Path, n_train: int = 120, n_test: int = 32, seed: int = 0, width: int = 480, height: int = 360
) -> Path:
    """Writes the official coral layout under root (`$DATA/coral`): `train/*.JPG`, `test/*.JPG`,
    `annotations_{train,test}_2020_{boxes,polygons}.cvs.txt` (official formats; quirks in train only) and
    `test_subsets.txt` (`img_id subset`)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, count in (("train", n_train), ("test", n_test)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        box_lines: list[str] = []
        polygon_lines: list[str] = []
        subset_lines: list[str] = []
        for i in range(count):
            image_id = f"{split}_{i:04d}"
            image, regions = render_scene(rng, width, height)
            cv2.imwrite(
                str(folder / f"{image_id}.JPG"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92]
            )
            boxes, polygons = _annotation_lines(image_id, regions, quirks=split == "train", rng=rng)
            box_lines += boxes
            polygon_lines += polygons
            subset_lines.append(f"{image_id} {SUBSETS[i % len(SUBSETS)]}")
        atomic_write_text(root / ANNOTATIONS[split, "boxes"], "\n".join(box_lines) + "\n")
        atomic_write_text(root / ANNOTATIONS[split, "polygons"], "\n".join(polygon_lines) + "\n")
        if split == "test":
            atomic_write_text(root / TEST_SUBSETS, "\n".join(subset_lines) + "\n")
    return root
