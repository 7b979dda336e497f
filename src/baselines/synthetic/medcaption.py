"""Synthetic radiology-like images for the medical caption tasks: each drawn finding is a concept,
and the caption is written from what is drawn, so both baselines can learn something checkable.

Writes the layout of `configs/data/medcaption.yaml` (docs/tasks/medcaption.md):
`<root>/{train,val,test}/images/<MODALITY>/<id>.jpg` (DRXR radiographs, DRCT slices with a round field of
view), `{train,val,test}/concepts.txt` (`id<TAB>C1;C2`), `{train,val,test}/captions.txt`, and `<root>/tokenizer/`,
a word-level tokenizer trained on the training captions (no hub needed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from baselines.io.atomic import atomic_write_text
from baselines.text.tokenizers import train_word_tokenizer

Draw = Callable[[np.ndarray, np.random.Generator], None]


def _opacity(img: np.ndarray, rng: np.random.Generator) -> None:
    c = tuple(int(v) for v in rng.integers(40, 88, 2))
    cv2.circle(img, c, int(rng.integers(12, 18)), 210, -1, cv2.LINE_AA)


def _nodule(img: np.ndarray, rng: np.random.Generator) -> None:
    c = tuple(int(v) for v in rng.integers(30, 98, 2))
    cv2.circle(img, c, 4, 250, -1, cv2.LINE_AA)


def _fracture(img: np.ndarray, rng: np.random.Generator) -> None:
    y = int(rng.integers(30, 98))
    cv2.rectangle(img, (20, y - 5), (108, y + 5), 235, -1)
    x = int(rng.integers(40, 90))
    cv2.line(img, (x, y - 7), (x + 4, y + 7), 20, 2, cv2.LINE_AA)


def _effusion(img: np.ndarray, rng: np.random.Generator) -> None:
    img[int(rng.integers(96, 108)) :, 16:112] = 190


def _cavity(img: np.ndarray, rng: np.random.Generator) -> None:
    c = tuple(int(v) for v in rng.integers(35, 93, 2))
    cv2.circle(img, c, 11, 225, 3, cv2.LINE_AA)
    cv2.circle(img, c, 7, 15, -1, cv2.LINE_AA)


def _device(img: np.ndarray, rng: np.random.Generator) -> None:
    x, y = (int(v) for v in rng.integers(20, 100, 2))
    cv2.rectangle(img, (x, y), (x + 10, y + 6), 255, -1)


def _calcification(img: np.ndarray, rng: np.random.Generator) -> None:
    cx, cy = (int(v) for v in rng.integers(35, 93, 2))
    for _ in range(7):
        dx, dy = (int(v) for v in rng.integers(-6, 7, 2))
        cv2.circle(img, (cx + dx, cy + dy), 1, 255, -1)


def _catheter(img: np.ndarray, rng: np.random.Generator) -> None:
    xs = np.linspace(10, 118, 30)
    ys = 64 + 30 * np.sin(xs / 20 + rng.uniform(0, 6))
    cv2.polylines(img, [np.stack([xs, ys], 1).astype(np.int32)], False, 245, 1, cv2.LINE_AA)


# (CUI, words for the caption, drawing)
FINDINGS: tuple[tuple[str, str, Draw], ...] = (
    ("C0000001", "a round opacity", _opacity),
    ("C0000002", "a small nodule", _nodule),
    ("C0000003", "a bone fracture", _fracture),
    ("C0000004", "a pleural effusion", _effusion),
    ("C0000005", "a cavity", _cavity),
    ("C0000006", "an implanted device", _device),
    ("C0000007", "calcifications", _calcification),
    ("C0000008", "a catheter", _catheter),
)
MODALITY_CONCEPTS = {"DRXR": ("C0000101", "x-ray"), "DRCT": ("C0000102", "ct scan")}


def render(
    rng: np.random.Generator, modality: str, size: int = 128, findings: Sequence[int] | None = None
) -> tuple[np.ndarray, list[str], str]:
    """One image; returns it (RGB), its concepts (modality concept first) and its caption.

    Args:
        rng: Random generator.
        modality: "DRXR" or "DRCT".
        size: Side in pixels.
        findings: Indices into FINDINGS to draw; by default 1 to 3 random ones.
    """
    img = np.clip(rng.normal(40, 8, (size, size)), 0, 255).astype(np.uint8)
    cv2.ellipse(img, (size // 2, size // 2), (size // 2 - 8, size // 2 - 14), 0, 0, 360, 95, -1)
    if findings is None:
        findings = rng.choice(len(FINDINGS), size=int(rng.integers(1, 4)), replace=False).tolist()
    chosen = sorted(findings)
    for i in chosen:
        FINDINGS[i][2](img, rng)
    if modality == "DRCT":
        fov = np.zeros_like(img)
        cv2.circle(fov, (size // 2, size // 2), size // 2 - 2, 1, -1)
        img = (img * fov).astype(np.uint8)
    blurred = cv2.GaussianBlur(img, (3, 3), 0)
    modality_cui, modality_words = MODALITY_CONCEPTS[modality]
    words = [FINDINGS[i][1] for i in chosen]
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    caption = f"{modality_words} showing {listed}"
    return cv2.cvtColor(blurred, cv2.COLOR_GRAY2RGB), [modality_cui] + [FINDINGS[i][0] for i in chosen], caption


def generate(
    root: str | Path, n_train: int = 240, n_test: int = 60, seed: int = 0, size: int = 128, n_val: int = 0
) -> Path:
    """Writes the layout of configs/data/medcaption.yaml under root (`$DATA/medcaption`): per split (`val` only
    when n_val > 0) the modality-folder images and the concept and caption files (on `test` the ground truth);
    returns root."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, count in (("train", n_train), ("val", n_val), ("test", n_test)):
        if split == "val" and not count:  # no validation split: no empty files
            continue
        concept_lines, caption_lines = [], []
        for i in range(count):
            modality = "DRXR" if rng.random() < 0.5 else "DRCT"
            image, concepts, caption = render(rng, modality, size)
            image_id = f"SYNTH_{split.upper()}_{i:05d}"
            folder = root / split / "images" / modality
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{image_id}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            concept_lines.append(f"{image_id}\t{';'.join(concepts)}")
            caption_lines.append(f"{image_id}\t{caption}")
        atomic_write_text(root / split / "concepts.txt", "\n".join(concept_lines) + "\n")
        atomic_write_text(root / split / "captions.txt", "\n".join(caption_lines) + "\n")
        if split == "train":
            train_word_tokenizer([line.split("\t", 1)[1] for line in caption_lines], root / "tokenizer")
    return root
