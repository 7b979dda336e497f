"""VQA-Med 2019 training questions (CC BY 4.0) and the VQA-Med 2021 VQG test set -> the VQG layout.

Sources:
- training: `dataset/image_files/ImageClef_2019_Training/` of thiliniprr/AquaNet_VQA@af1d8bb, the
  official VQA-Med 2019 training set: `All_QA_Pairs_train.txt` (`image|question|answer`, 12,792 pairs,
  four questions per image) and `Train_images/<image>.jpg` (3,200). Each image's questions (answers
  dropped, repeated questions kept once) are its VQG targets.
- test: `Task2-VQG-2021-TestSet-w-GroundTruth.zip` of abachaa/VQA-Med-2021@ffa0e6c: 76 images and
  `Task2-VQGeneration2021-TestSet-ReferenceQuestions.txt` (`image|q1|q2|...`, the official ground truth).
  No 2021 test image is among the 2019 training images.

Split: `--val-fraction` of the 2019 images (sorted, shuffled with `random.Random(seed)`) are held out as
the validation split (model selection); the 2021 images are only predicted and scored. Written under OUT:

    vqamed/vqg/train/questions.txt, train/images/   `image|question` lines (several per image)
    vqamed/vqg/val/questions.txt, val/images/
    vqamed/vqg/test/images/                          the 76 VQG 2021 test images
    vqamed/vqg/test/questions.txt                    their reference questions, as released

    python scripts/real_data/vqamed_vqg.py SOURCES/AquaNet_VQA/dataset/image_files/ImageClef_2019_Training \
        SOURCES/VQA-Med-2021/Task2-VQG-2021-TestSet-w-GroundTruth.zip OUT
"""

from __future__ import annotations

import argparse
import random
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from baselines.io.atomic import atomic_write_bytes, atomic_write_text
from baselines.io.formats.vqamed import read_qa, read_reference_questions

REFERENCE = "Task2-VQGeneration2021-TestSet-ReferenceQuestions.txt"


def _questions_file(questions: dict[str, list[str]], ids: Sequence[str]) -> str:
    return "".join(f"{image_id}|{q}\n" for image_id in ids for q in questions[image_id])


def _extract_test(archive: Path, root: Path) -> list[str]:
    """Copies the test images and the reference file out of the 2021 zip (macOS `__MACOSX/` entries skipped)."""
    images = root / "test" / "images"
    images.mkdir(parents=True, exist_ok=True)
    reference = None
    ids = []
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir() or "__MACOSX" in name.parts or name.name.startswith("."):
                continue
            if name.name == REFERENCE:
                reference = bundle.read(info)
            elif name.suffix.lower() in (".jpg", ".jpeg", ".png"):
                (images / name.name).write_bytes(bundle.read(info))
                ids.append(name.stem)
    if reference is None:
        raise ValueError(f"{archive}: no {REFERENCE} inside")
    atomic_write_bytes(root / "test" / "questions.txt", reference)
    read_reference_questions(root / "test" / "questions.txt")  # refuses a malformed reference now, not when scoring
    return sorted(ids)


def convert(
    training: Path, test_archive: Path, out: Path, val_fraction: float = 0.05, seed: int = 0
) -> dict[str, list[str]]:
    """Writes the VQG layout under out/vqamed/vqg; returns split -> image ids.

    Raises:
        FormatError: For a malformed QA or reference line, with its number.
        ValueError: For a missing image or reference file.
    """
    questions: dict[str, list[str]] = {}
    for image_id, question, _ in read_qa(training / "All_QA_Pairs_train.txt"):
        text = " ".join(question.split())
        if text not in questions.setdefault(image_id, []):
            questions[image_id].append(text)
    ids = sorted(questions)
    missing = [i for i in ids if not (training / "Train_images" / f"{i}.jpg").is_file()]
    if missing:
        raise ValueError(f"{training / 'Train_images'}: {len(missing)} images missing, e.g. {missing[0]}.jpg")
    random.Random(seed).shuffle(ids)
    n_val = round(len(ids) * val_fraction)
    splits = {"val": sorted(ids[:n_val]), "train": sorted(ids[n_val:])}
    root = out / "vqamed" / "vqg"
    for split, names in splits.items():
        (root / split / "images").mkdir(parents=True, exist_ok=True)
        for image_id in names:
            shutil.copyfile(training / "Train_images" / f"{image_id}.jpg", root / split / "images" / f"{image_id}.jpg")
        atomic_write_text(root / split / "questions.txt", _questions_file(questions, names))
    splits["test"] = _extract_test(test_archive, root)
    return splits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("training", type=Path, help="the ImageClef_2019_Training folder")
    parser.add_argument("test_archive", type=Path, help="Task2-VQG-2021-TestSet-w-GroundTruth.zip")
    parser.add_argument("out", type=Path, help="the $DATA root to write vqamed/vqg/ under")
    parser.add_argument("--val-fraction", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    splits = convert(args.training, args.test_archive, args.out, args.val_fraction, args.seed)
    print("vqg: " + ", ".join(f"{len(ids)} {split}" for split, ids in splits.items()) + f" images under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
