"""VQA-Med 2019 (CC BY 4.0) for the real-data table: the release's layout under $DATA, its floors, its row.

    python scripts/real_data/vqamed2019.py SOURCES/AquaNet_VQA $DATA            # lay out $DATA/vqamed2019
    python scripts/real_data/vqamed2019.py --floor $DATA                        # print the floors

The release is read as released (configs/data/vqa2019.yaml): the folders of the public copy
(thiliniprr/AquaNet_VQA@af1d8bb, dataset/image_files/) are linked under $DATA/vqamed2019/, nothing is
converted. A VQA run has one question per image, so the validation split (four questions per image) is
predicted and scored per category file (QAPairsByCategory/C<k>_<Category>_val.txt, 500 questions each); the
split's score is the mean over its 2,000 questions, i.e. the mean of the four category scores.

Floor: the question prior, each validation question answered with the most frequent training answer to the
same question text (the most frequent training answer overall for a question never seen in training),
scored by the official accuracy and BLEU per category file like a run.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

from baselines.evaluation.vqamed import accuracy, bleu
from baselines.io.formats.vqamed import read_answers, read_qa

RELEASE = "vqamed2019"
TRAINING = "ImageClef_2019_Training"
VALIDATION = "ImageClef_2019-VQA_Validation"
CATEGORIES = {"modality": "C1_Modality", "plane": "C2_Plane", "organ": "C3_Organ", "abnormality": "C4_Abnormality"}


def lay_out(checkout: Path, data: Path) -> Path:
    """Links the release's training and validation folders of an AquaNet_VQA checkout under data/vqamed2019."""
    root = data / RELEASE
    root.mkdir(parents=True, exist_ok=True)
    for folder in (TRAINING, VALIDATION):
        source = (checkout / "dataset" / "image_files" / folder).resolve()
        if not (source / "QAPairsByCategory").is_dir():
            sys.exit(f"{source}: not the VQA-Med 2019 release folder (no QAPairsByCategory/)")
        link = root / folder
        if not link.exists():
            link.symlink_to(source, target_is_directory=True)
    return root


def category_file(data: Path, category: str) -> Path:
    """The validation split's QA pairs of one category (one question per image)."""
    return data / RELEASE / VALIDATION / "QAPairsByCategory" / f"{CATEGORIES[category]}_val.txt"


def question_prior(data: Path) -> dict[str, dict[str, float]]:
    """The question-prior floor per category file and over the split (mean over its questions)."""
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    overall: Counter[str] = Counter()
    for _, question, answer in read_qa(data / RELEASE / TRAINING / "All_QA_Pairs_train.txt"):
        answers[question][answer] += 1
        overall[answer] += 1
    fallback = overall.most_common(1)[0][0]
    scores: dict[str, dict[str, float]] = {}
    for category in CATEGORIES:
        path = category_file(data, category)
        run = {i: (answers[q].most_common(1)[0][0] if q in answers else fallback) for i, q, _ in read_qa(path)}
        truth = read_answers(path, "qa_pairs")
        scores[category] = {"accuracy": accuracy(run, truth), "bleu": bleu(run, truth), "questions": len(truth)}
    scores["all"] = pooled(scores)
    return scores


def pooled(per_category: dict[str, dict[str, float]]) -> dict[str, float]:
    """The split's scores from its category files' scores: the mean over all questions."""
    total = sum(s["questions"] for c, s in per_category.items() if c in CATEGORIES)
    return {
        metric: round(sum(s[metric] * s["questions"] for c, s in per_category.items() if c in CATEGORIES) / total, 4)
        for metric in ("accuracy", "bleu")
    } | {"questions": total}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, help="CHECKOUT DATA (lay out), or DATA with --floor")
    parser.add_argument("--floor", action="store_true", help="print the question-prior floor of DATA")
    args = parser.parse_args(argv)
    if args.floor:
        for category, score in question_prior(args.paths[0]).items():
            print(f"{category:12s} accuracy {score['accuracy']:.4f}  bleu {score['bleu']:.4f}  ({score['questions']})")
        return
    if len(args.paths) != 2:
        parser.error("expected CHECKOUT DATA")
    print(lay_out(args.paths[0], args.paths[1]))


if __name__ == "__main__":
    main()
