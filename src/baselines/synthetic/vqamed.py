"""Synthetic VQA-Med: radiograph-like images with drawn findings, questions and answers made from them.

Writes, under root: `train/images/synpicN.jpg`, `train/qa.txt` (`image_id|question|answer`, one QA per
image as in VQA-Med), `train/vqg.txt` (`image_id|question`, several per image), `test/images/`,
`test/questions.txt`, `test/answers.txt` (references), `test/vqg_reference.txt` (`image_id|q1|q2...`),
and `tokenizer/` (a word-level tokenizer trained on every training question).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from baselines.io.atomic import atomic_write_text
from baselines.synthetic.medcaption import FINDINGS, render
from baselines.text.tokenizers import train_word_tokenizer

_MODALITY_WORDS = {"DRXR": "x-ray", "DRCT": "ct scan"}


def _name(index: int) -> str:
    """Finding name without its article: "a pleural effusion" -> "pleural effusion"."""
    words = FINDINGS[index][1].split()
    return " ".join(words[1:]) if words[0] in ("a", "an") else " ".join(words)


def generate(root: str | Path, n_train: int = 300, n_test: int = 60, seed: int = 0, size: int = 96) -> Path:
    """Writes the synthetic VQA and VQG sets in the official `|` formats; returns root."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    all_questions: list[str] = []
    for split, count, offset in (("train", n_train, 10000), ("test", n_test, 90000)):
        folder = root / split / "images"
        folder.mkdir(parents=True, exist_ok=True)
        qa, vqg = [], []
        for i in range(count):
            image_id = f"synpic{offset + i}"
            modality = "DRXR" if rng.random() < 0.5 else "DRCT"
            words = _MODALITY_WORDS[modality]
            if rng.random() < 0.7:  # abnormality question: one finding drawn, its name is the answer
                findings = [int(rng.integers(len(FINDINGS)))]
                question, answer = f"what is abnormal in this {words}?", _name(findings[0])
            else:  # yes/no question about one finding, drawn or not
                findings = rng.choice(len(FINDINGS), size=int(rng.integers(1, 3)), replace=False).tolist()
                asked = int(rng.integers(len(FINDINGS)))
                question = f"is there {FINDINGS[asked][1]} in the {words}?"
                answer = "yes" if asked in findings else "no"
            image, _, _ = render(rng, modality, size, findings)
            cv2.imwrite(str(folder / f"{image_id}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            qa.append((image_id, question, answer))
            generated = [f"what abnormality is seen in the {words}?"]
            generated += [f"is there {FINDINGS[f][1]} in the {words}?" for f in sorted(findings)]
            vqg += [(image_id, q) for q in generated]
            all_questions += [question, *generated] if split == "train" else []
        if split == "train":
            atomic_write_text(root / split / "qa.txt", "".join(f"{i}|{q}|{a}\n" for i, q, a in qa))
            atomic_write_text(root / split / "vqg.txt", "".join(f"{i}|{q}\n" for i, q in vqg))
        else:
            atomic_write_text(root / split / "questions.txt", "".join(f"{i}|{q}\n" for i, q, _ in qa))
            atomic_write_text(root / split / "answers.txt", "".join(f"{i}|{a}\n" for i, _, a in qa))
            # one line per image, as the organisers' VQG reference (`image_id|q1|q2|...`)
            by_image: dict[str, list[str]] = {}
            for image_id, question in vqg:
                by_image.setdefault(image_id, []).append(question)
            reference = "".join("|".join([i, *questions]) + "\n" for i, questions in by_image.items())
            atomic_write_text(root / split / "vqg_reference.txt", reference)
    train_word_tokenizer(all_questions, root / "tokenizer")
    return root
