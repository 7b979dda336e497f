"""Floors for the real-data table: run files in the official formats made without learning from images
(or from thumbnails only), scored by the same `baselines evaluate` as the trained baselines.

- `box_prior` (drawnui, coral_boxes): for every test image and class, the class's mean training box
  (relative to the image size, so it scales to each test image) with the class's share of the training
  boxes as confidence: where things usually are, at how often they occur.
- `majority_polygon` (coral_polygons): the most frequent training substrate (by annotated area) as one
  polygon over the whole image; its pixel accuracy is `majority_pixel_accuracy`.
- `majority_pixel_accuracy` (coral_polygons): every pixel given the most frequent training label (background
  included, unlabelled pixels left out), scored against the dense test masks; also its mIoU.
- `constant_concepts` (concepts): one label set for every image, grown greedily from the training labels by
  the official F1 on the training set (each step adds the label that raises it most; stops when none does).
- `nearest_caption` (caption): the caption of the nearest training image by Euclidean distance of 16x16
  grayscale thumbnails; `frequent_caption`: the most frequent training caption for every image.
- `frequent_questions` (vqg): the k most frequent training questions for every image.

Each writes a run file and returns its path; `python scripts/real_data/floors.py --help` runs one.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from baselines.io.atomic import atomic_write_text
from baselines.io.formats.medcaption import read_concepts, read_tab_file
from baselines.io.formats.vqamed import read_generated_questions
from baselines.io.grouped import format_grouped_lines
from baselines.io.images import find_images, image_size, list_images, load_rgb
from baselines.tasks import get_task
from baselines.types import Region


def _relative_boxes(truth: Mapping[str, Sequence[Region]], images: Mapping[str, Path]) -> dict[int, list[np.ndarray]]:
    boxes: dict[int, list[np.ndarray]] = {}
    for image_id, regions in truth.items():
        width, height = image_size(images[image_id])
        for region in regions:
            boxes.setdefault(region.label, []).append(np.asarray(region.box) / [width, height, width, height])
    return boxes


def box_prior(task: str, train_gt: Path, train_images: Path, test_images: Path, out: Path) -> Path:
    """Each class's mean training box at its frequency, on every test image (drawnui, coral_boxes)."""
    spec = get_task(task)
    truth = spec.read_ground_truth(train_gt, None)
    id_from = "name" if task == "drawnui" else "stem"
    boxes = _relative_boxes(truth, find_images(train_images, id_from))
    total = sum(len(b) for b in boxes.values())
    run: dict[str, list[Region]] = {}
    for image_id, path in sorted(find_images(test_images, id_from).items()):
        width, height = image_size(path)
        scale = np.array([width, height, width, height])
        run[image_id] = [
            Region(label, len(items) / total, tuple(float(v) for v in np.mean(items, axis=0) * scale))  # type: ignore[arg-type]
            for label, items in sorted(boxes.items())
        ]
    return atomic_write_text(out, format_grouped_lines(run, spec.classes, "box"))


def _label_counts(masks: Sequence[np.ndarray]) -> np.ndarray:
    counts = np.zeros(256, np.int64)
    for mask in masks:
        counts += np.bincount(mask.ravel(), minlength=256)
    counts[255] = 0  # unlabelled
    return counts


def train_label_counts(train_gt: Path, train_images: Path) -> np.ndarray:
    """Pixels per label (0 background, 1 + class) of the training polygons, drawn as the organisers draw them."""
    from baselines.evaluation.segmentation import label_map
    from baselines.tasks.coral import CoralPolygonSpec

    spec = CoralPolygonSpec()
    truth = spec.read_ground_truth(train_gt, None)
    masks = []
    for image_id, path in find_images(train_images, "stem").items():
        width, height = image_size(path)
        masks.append(label_map(truth.get(image_id, []), height, width, spec.draw_order))
    return _label_counts(masks)


def majority_polygon(train_gt: Path, train_images: Path, test_images: Path, out: Path) -> Path:
    """The most frequent training substrate as one whole-image polygon on every test image."""
    spec = get_task("coral_polygons")
    counts = train_label_counts(train_gt, train_images)
    label = int(np.argmax(counts[1:255]))
    run = {}
    for image_id, path in sorted(find_images(test_images, "stem").items()):
        w, h = image_size(path)
        run[image_id] = [Region(label, 1.0, (0, 0, w - 1, h - 1), (0, 0, w - 1, 0, w - 1, h - 1, 0, h - 1))]
    return atomic_write_text(out, format_grouped_lines(run, spec.classes, "polygon"))


def pixel_scores(predicted: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray], labels: int) -> dict[str, float]:
    """Pixel accuracy and mIoU (over labels present in the truth or the prediction) of label maps against
    dense masks (255 = unlabelled, left out)."""
    confusion = np.zeros((labels, labels), np.int64)
    for image_id, truth in masks.items():
        keep = truth != 255
        pred = predicted[image_id][keep].astype(np.int64)
        confusion += np.bincount(truth[keep].astype(np.int64) * labels + pred, minlength=labels * labels).reshape(
            labels, labels
        )
    tp = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - tp
    present = union > 0
    return {
        "pixel_accuracy": float(tp.sum() / confusion.sum()),
        "miou": float((tp[present] / union[present]).mean()),
    }


def read_masks(folder: Path) -> dict[str, np.ndarray]:
    return {p.stem: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in list_images(folder)}


def majority_pixel_accuracy(train_gt: Path, train_images: Path, test_masks: Path) -> dict[str, float]:
    """Every test pixel given the most frequent training label (background included)."""
    counts = train_label_counts(train_gt, train_images)
    label = int(np.argmax(counts))
    masks = read_masks(test_masks)
    return pixel_scores({k: np.full_like(m, label) for k, m in masks.items()}, masks, 14) | {"label": float(label)}


def run_pixel_scores(run_file: Path, test_images: Path, test_masks: Path) -> dict[str, float]:
    """A coral_polygons run drawn as the organisers draw it, scored per pixel against the dense masks."""
    from baselines.evaluation.segmentation import label_map
    from baselines.tasks.coral import CoralPolygonSpec

    spec = CoralPolygonSpec()
    reference = spec.load_reference(None, test_images)
    run = spec.parse_run(run_file, reference)
    masks = read_masks(test_masks)
    predicted = {}
    for image_id, mask in masks.items():
        predicted[image_id] = label_map(run.get(image_id, []), mask.shape[0], mask.shape[1], spec.draw_order)
    return pixel_scores(predicted, masks, 14)


def constant_concepts(train_gt: Path, test_images: Path, out: Path) -> Path:
    """The best constant label set by the official F1 on the training set, for every test image."""
    spec = get_task("concepts")
    truth = spec.read_ground_truth(train_gt)
    ids = sorted(truth)
    chosen: list[str] = []
    best = 0.0
    candidates = [c for c, _ in Counter(c for cs in read_concepts(train_gt).values() for c in cs).most_common(50)]
    while True:
        scored = [
            (spec.score_against({i: [*chosen, c] for i in ids}, truth)[spec.primary_metric], c)
            for c in candidates
            if c not in chosen
        ]
        if not scored or max(scored)[0] <= best:
            break
        best, label = max(scored)
        chosen.append(label)
    test_ids = sorted(find_images(test_images, "stem"))
    return atomic_write_text(out, "".join(f"{i}\t{';'.join(chosen)}\n" for i in test_ids))


def _thumbnails(paths: Mapping[str, Path], size: int = 16) -> tuple[list[str], np.ndarray]:
    ids = sorted(paths)
    vectors = []
    for image_id in ids:
        gray = cv2.cvtColor(load_rgb(paths[image_id], longest_at_least=size * 4), cv2.COLOR_RGB2GRAY)
        vectors.append(cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32).ravel() / 255)
    return ids, np.stack(vectors)


def nearest_caption(train_captions: Path, train_images: Path, test_images: Path, out: Path) -> Path:
    """The caption of the nearest training image (16x16 grayscale thumbnails, Euclidean)."""
    captions = read_tab_file(train_captions, "caption")
    train_ids, train_vectors = _thumbnails(
        {k: v for k, v in find_images(train_images, "stem").items() if k in captions}
    )
    test_ids, test_vectors = _thumbnails(find_images(test_images, "stem"))
    distances = ((test_vectors[:, None, :] - train_vectors[None, :, :]) ** 2).sum(-1)
    nearest = distances.argmin(1)
    return atomic_write_text(
        out, "".join(f"{i}\t{captions[train_ids[n]]}\n" for i, n in zip(test_ids, nearest, strict=True))
    )


def frequent_caption(train_captions: Path, test_images: Path, out: Path) -> Path:
    """The most frequent training caption for every test image."""
    caption = Counter(read_tab_file(train_captions, "caption").values()).most_common(1)[0][0]
    return atomic_write_text(out, "".join(f"{i}\t{caption}\n" for i in sorted(find_images(test_images, "stem"))))


def frequent_questions(train_questions: Path, test_images: Path, out: Path, k: int = 3) -> Path:
    """The k most frequent training questions for every test image."""
    counts = Counter(q for qs in read_generated_questions(train_questions).values() for q in qs)
    top = [q for q, _ in counts.most_common(k)]
    return atomic_write_text(out, "".join(f"{i}|{'|'.join(top)}\n" for i in sorted(find_images(test_images, "stem"))))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "floor",
        choices=[
            "box_prior",
            "majority_polygon",
            "constant_concepts",
            "nearest_caption",
            "frequent_caption",
            "frequent_questions",
        ],
    )
    parser.add_argument("--task", help="box_prior: drawnui or coral_boxes")
    parser.add_argument(
        "--train-gt", type=Path, help="training ground truth (annotations, concepts, captions, questions)"
    )
    parser.add_argument("--train-images", type=Path)
    parser.add_argument("--test-images", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="the run file to write")
    args = parser.parse_args(argv)
    if args.floor == "box_prior":
        box_prior(args.task, args.train_gt, args.train_images, args.test_images, args.out)
    elif args.floor == "majority_polygon":
        majority_polygon(args.train_gt, args.train_images, args.test_images, args.out)
    elif args.floor == "constant_concepts":
        constant_concepts(args.train_gt, args.test_images, args.out)
    elif args.floor == "nearest_caption":
        nearest_caption(args.train_gt, args.train_images, args.test_images, args.out)
    elif args.floor == "frequent_caption":
        frequent_caption(args.train_gt, args.test_images, args.out)
    else:
        frequent_questions(args.train_gt, args.test_images, args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
