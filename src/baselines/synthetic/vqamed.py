"""Synthetic VQA-Med: radiograph-like images with drawn findings, questions and answers made from them.

Writes the layouts of configs/data/vqa.yaml and vqg.yaml under root (`$DATA/vqamed`, docs/tasks/vqamed.md):
per VQA set its folder with the QA file (`image_id|question|answer`, one QA per image as in VQA-Med; the test
set's questions `image_id|question` and reference answers `image_id|answer`) and its images `synpicN.jpg`;
`vqg/{train,val}/questions.txt` (`image_id|question`, several per image), `vqg/test/questions.txt` (the
reference, `image_id|q1|q2...`) and `vqg/*/images/` (the same images: VQG comes with its own); and
`tokenizer/` (a word-level tokenizer trained on every training question). The validation sets only when
n_val > 0.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
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


# The official folder, QA file and image folder of each VQA set (configs/data/vqa.yaml); the test set's QA
# file holds its questions, and its reference answers are TEST_ANSWERS.
VQA_SETS = {
    "train": (
        "VQA-TrainingSet-VQAMed2020-Task1",
        "VQAnswering_2020_Train_QA_pairs.txt",
        "VQAnswering_2020_Train_images",
    ),
    "val": ("VQA-ValidationSet-VQAMed2020-Task1", "VQAnswering_2020_Val_QA_Pairs.txt", "VQAnswering_2020_Val_images"),
    "test": (
        "VQA-TestSet-ReferenceAnswers-VQAMed2020-Task1",
        "VQAMed2020-Task1-VQAnswering-Test-Questions.txt",
        "Task1-2020-VQAnswering-Test-Images",
    ),
}
TEST_ANSWERS = f"{VQA_SETS['test'][0]}/VQAMed2020-Task1-VQAnswering-Test-ReferenceAnswers.txt"
VQG_QUESTIONS = "vqg/{split}/questions.txt"  # configs/data/vqg.yaml; on test the reference (scripts/real_data)
VQG_IMAGES = "vqg/{split}/images"


def _lines(rows: Iterable[Sequence[str]]) -> str:
    return "".join("|".join(row) + "\n" for row in rows)


def generate(
    root: str | Path, n_train: int = 300, n_test: int = 60, seed: int = 0, size: int = 96, n_val: int = 0
) -> Path:
    """Writes the synthetic VQA and VQG sets in the official `|` formats and layouts; returns root."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    all_questions: list[str] = []
    for split, count, offset in (("train", n_train, 10000), ("val", n_val, 50000), ("test", n_test, 90000)):
        if split == "val" and not count:  # no validation split: no empty files
            continue
        folder, qa_file, images = VQA_SETS[split]
        vqa_images, vqg_images = root / folder / images, root / VQG_IMAGES.format(split=split)
        vqa_images.mkdir(parents=True, exist_ok=True)
        vqg_images.mkdir(parents=True, exist_ok=True)
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
            cv2.imwrite(str(vqa_images / f"{image_id}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            shutil.copyfile(vqa_images / f"{image_id}.jpg", vqg_images / f"{image_id}.jpg")
            qa.append((image_id, question, answer))
            generated = [f"what abnormality is seen in the {words}?"]
            generated += [f"is there {FINDINGS[f][1]} in the {words}?" for f in sorted(findings)]
            vqg += [(image_id, q) for q in generated]
            all_questions += [question, *generated] if split == "train" else []
        if split != "test":
            atomic_write_text(root / folder / qa_file, _lines(qa))
            atomic_write_text(root / VQG_QUESTIONS.format(split=split), _lines(vqg))
        else:
            atomic_write_text(root / folder / qa_file, _lines([(i, q) for i, q, _ in qa]))
            atomic_write_text(root / TEST_ANSWERS, _lines([(i, a) for i, _, a in qa]))
            # one line per image, as the organisers' VQG reference (`image_id|q1|q2|...`)
            by_image: dict[str, list[str]] = {}
            for image_id, question in vqg:
                by_image.setdefault(image_id, []).append(question)
            atomic_write_text(root / VQG_QUESTIONS.format(split=split), _lines([(i, *q) for i, q in by_image.items()]))
    train_word_tokenizer(all_questions, root / "tokenizer")
    return root
