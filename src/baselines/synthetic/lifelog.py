"""Synthetic lifelog: days of wearable-camera frames, one a minute, in scenes (a room colour and its
objects, as drawn shapes) that recur at different times; metadata, topics and a ground truth (in the
released layout) whose clusters are the separate visits (events) of the asked scene."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from baselines.io.atomic import atomic_write_text

# name, location, activity, concepts, background RGB, object shape
SCENES = (
    ("kitchen", "kitchen", "eating", "cup;plate", (230, 200, 60), "circle"),
    ("office", "office", "working", "laptop;desk", (60, 110, 220), "rectangle"),
    ("gym", "gym", "exercising", "treadmill;weights", (220, 70, 60), "bars"),
    ("park", "park", "walking", "tree;grass", (70, 170, 70), "triangle"),
    ("car", "car", "driving", "steering wheel;road", (120, 120, 120), "ring"),
    ("shop", "supermarket", "shopping", "shelves;trolley", (200, 120, 200), "grid"),
)
TOPICS = {
    "kitchen": "Eating in the kitchen. Find the moments when I was eating at home in the kitchen.",
    "office": "Working at the office. Find the moments when I worked on my laptop at the office desk.",
    "gym": "At the gym. Find the moments when I was exercising in the gym.",
    "park": "Walking in the park. Find the moments when I walked among trees in the park.",
    "car": "Driving. Find the moments when I was driving my car.",
    "shop": "Shopping. Find the moments when I was shopping in the supermarket.",
}


def _frame(scene: int, rng: np.random.Generator, size: int) -> np.ndarray:
    color = np.array(SCENES[scene][4], np.float32)
    image = np.clip(color + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    shape = SCENES[scene][5]
    cx, cy = (int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
    r = size // 6
    ink = (20, 20, 20)
    if shape == "circle":
        cv2.circle(image, (cx, cy), r, ink, -1)
    elif shape == "rectangle":
        cv2.rectangle(image, (cx - r, cy - r // 2), (cx + r, cy + r // 2), ink, -1)
    elif shape == "bars":
        for dx in (-r, 0, r):
            cv2.line(image, (cx + dx, cy - r), (cx + dx, cy + r), ink, 3)
    elif shape == "triangle":
        cv2.fillPoly(image, [np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)], ink)
    elif shape == "ring":
        cv2.circle(image, (cx, cy), r, ink, 3)
    else:
        for d in (-r, 0, r):
            cv2.line(image, (cx - r, cy + d), (cx + r, cy + d), ink, 2)
            cv2.line(image, (cx + d, cy - r), (cx + d, cy + r), ink, 2)
    return image


# The layout of configs/data/lmrt.yaml under `$DATA/lifelog/` (docs/tasks/lifelog.md). The synthetic collection
# has one set of scenes to ask about: the test topics are the development topics, so the development ground
# truth scores a run of either. The metadata CSV (for fine-tuning) is the project's format and name.
IMAGES = "images"
DEV_GT, DEV_CLUSTERS = "ImageCLEF2020_dev_gt.txt", "ImageCLEF2020_dev_clusters.txt"
DEV_TOPICS, TEST_TOPICS = "ImageCLEF2020_dev_topics.csv", "ImageCLEF2020_test_topics.csv"
METADATA = "metadata.csv"


def generate(root: str | Path, n_events: int = 36, seed: int = 0, size: int = 64) -> Path:
    """Writes the lifelog layout under root (`$DATA/lifelog`): `images/<day>/<id>` (ids like
    `20180501_070000_000.jpg`, the 2016 form of the real ids), `metadata.csv`, the topics
    (`ImageCLEF2020_{dev,test}_topics.csv`, the same six) and the development ground truth as released:
    `ImageCLEF2020_dev_gt.txt` (`topic, image_id, cluster`) and `ImageCLEF2020_dev_clusters.txt`
    (`topic, cluster`), topics numbered from 1 and each topic's clusters (its scene's separate visits)
    numbered from 1 in time order.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    start = datetime(2018, 5, 1, 7, 0)
    clock = start
    metadata = ["image_id,timestamp,location,activity,concepts"]
    judgements: list[str] = []
    clusters: list[tuple[int, int]] = []
    topic_of = {name: number for number, name in enumerate(TOPICS, start=1)}
    visits = dict.fromkeys(TOPICS, 0)
    scenes = [i % len(SCENES) for i in range(n_events)]
    rng.shuffle(scenes)
    for scene in scenes:
        name, location, activity, concepts, _, _ = SCENES[scene]
        visits[name] += 1
        clusters.append((topic_of[name], visits[name]))
        for _ in range(int(rng.integers(4, 10))):
            image_id = f"{clock:%Y%m%d_%H%M%S}_000.jpg"
            folder = root / IMAGES / f"{clock:%Y-%m-%d}"
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / image_id), cv2.cvtColor(_frame(scene, rng, size), cv2.COLOR_RGB2BGR))
            metadata.append(f"{image_id},{clock.isoformat(sep=' ')},{location},{activity},{concepts}")
            judgements.append(f"{topic_of[name]}, {image_id}, {visits[name]}")
            clock += timedelta(minutes=1)
        clock += timedelta(minutes=int(rng.integers(40, 180)))  # gaps between events
    topics = ["topic_id,title,description"] + [
        f"{topic_of[key]},{text.split('. ', 1)[0]},{text.split('. ', 1)[1]}" for key, text in TOPICS.items()
    ]
    ordered = sorted(judgements, key=lambda line: int(line.split(",")[0]))  # released files are grouped by topic
    atomic_write_text(root / METADATA, "\n".join(metadata) + "\n")
    for name in (DEV_TOPICS, TEST_TOPICS):
        atomic_write_text(root / name, "\n".join(topics) + "\n")
    atomic_write_text(root / DEV_GT, "\n".join(ordered) + "\n")
    atomic_write_text(root / DEV_CLUSTERS, "".join(f"{t}, {c}\n" for t, c in sorted(clusters)))
    return root
