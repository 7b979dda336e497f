"""VQA-Med 2020: visual question answering (`vqa`) and visual question generation (`vqg`).

- vqa run file: `image_id|answer`, exactly one line per test image in test-set order; accuracy
  (primary) and BLEU as the official evaluator (see baselines.evaluation.vqamed). Ground truth: the
  organisers' reference answers (`image_id|answer`, 2021 with `|`-separated alternatives) or a split's
  QA pairs (`image_id|question|answer`, e.g. the validation set).
- vqg run file: `image_id|q1|q2|...`, one line per test image in any order; BLEU of the generated
  questions as the official 2021 VQG evaluator (the best pair per image).

Both validators accept what the official evaluators accept and refuse what they refuse: a blank or
whitespace-only line or a UTF-8 byte-order mark makes them reject a run, so it is an error here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.errors import ProblemCollector
from baselines.evaluation.resampling import ItemSums
from baselines.evaluation.vqamed import (
    BleuSemantics,
    accuracy,
    answer_bleus,
    answer_hits,
    bleu,
    mean_resampling,
    question_bleu,
    question_bleus,
)
from baselines.io.formats.vqamed import (
    ReferenceLayout,
    looks_like_question,
    read_answers,
    read_reference_questions,
    read_test_ids,
)
from baselines.io.images import find_images_by_stem
from baselines.io.lines import read_lines
from baselines.tasks.base import TaskSpec, mostly, predicted_truth
from baselines.types import PredictionSet


@dataclass
class VQAReference:
    """Test image ids in test-set order (None: unknown) and, when loaded, the reference answers/questions."""

    order: list[str] | None
    ground_truth: dict[str, Any] | None = None


def _asked(line: str) -> bool:
    """Whether most fields after the id of a `|`-separated line are questions (a VQG line; in a QA pair, the
    answer is not)."""
    fields = [field for field in line.split("|")[1:] if field.strip()]
    return sum(1 for field in fields if looks_like_question(field)) * 2 > len(fields) > 0


def _test_order(images: str | Path) -> list[str]:
    """Test-set order: from a test questions file (`image_id|question`) or a list of image ids, or a
    folder's image ids (file stems, any image extension in any case) sorted, as the data module lists them."""
    path = Path(images)
    if path.is_dir():
        return sorted(find_images_by_stem(path))
    return read_test_ids(path)


class VQASpec(TaskSpec):
    """Args:
    bleu_semantics: "legacy" (NLTK <= 3.2.5 method0, reproduces the published 2020 numbers) or "nltk".
    reference_layout: How `--gt` files are laid out: "auto" (told from the lines), "answers"
        (`image_id|answer[|alternative...]`) or "qa_pairs" (`image_id|question|answer`); see
        baselines.io.formats.vqamed.read_answers.
    """

    reference_hint = "give --images <test questions file> (also checks the test-set order), or --gt <answers>"
    ground_truth_grammar = "answers 'image_id|answer[|alternative...]' or QA pairs 'image_id|question|answer'"
    kind = "answers"
    id_separators = "|"

    def __init__(self, bleu_semantics: BleuSemantics = "legacy", reference_layout: ReferenceLayout = "auto") -> None:
        self.name = "vqa"
        self.primary_metric = "accuracy"
        self.bleu_semantics: BleuSemantics = bleu_semantics
        self.reference_layout: ReferenceLayout = reference_layout

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        return "".join(f"{p['id']}|{' '.join(str(p['answer']).split()) or 'no'}\n" for p in predictions)

    def sniff(self, lines: Sequence[str]) -> bool | None:
        """`|`-separated lines with an answer after the id or after the question; a line of questions only is a
        questions file (the test questions, VQG references)."""
        return not mostly(lines, lambda line: "|" not in line) and not mostly(lines, _asked)

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> VQAReference:
        truth = read_answers(ground_truth, self.reference_layout) if ground_truth is not None else None
        order = _test_order(images) if images is not None else (list(truth) if truth is not None else None)
        return VQAReference(order, truth)

    def reference_for(self, predicted: PredictionSet, ground_truth: str | Path | None) -> VQAReference:
        truth = None
        if ground_truth:
            truth = predicted_truth(read_answers(ground_truth, self.reference_layout), predicted, ground_truth)
        return VQAReference(list(predicted.ids), truth)

    def parse_run(self, path: str | Path, reference: VQAReference | None) -> dict[str, str]:
        """The official checks: no blank line or BOM, 2 `|` tokens, the test id expected at each line,
        non-empty answer, line count."""
        problems = ProblemCollector(path)
        order = reference.order if reference is not None else None
        result: dict[str, str] = {}
        count = 0
        for number, text in read_lines(path, problems, strict=True):
            count += 1
            parts = text.split("|")
            if len(parts) != 2:
                problems.add(number, f"{len(parts)} '|'-separated tokens; expected '<image_id>|<answer>'")
                continue
            image_id, answer = parts[0], parts[1].strip()
            if order is not None:
                if count > len(order):
                    problems.add(number, f"more lines than the {len(order)} test images")
                    continue
                if image_id != order[count - 1]:
                    problems.add(
                        number, f"expected image {order[count - 1]!r} on this line (test-set order), got {image_id!r}"
                    )
                    continue
            elif image_id in result:
                problems.add(number, f"duplicate image {image_id!r}")
                continue
            if not answer:
                problems.add(number, "empty answer")
                continue
            result[image_id] = answer
        if order is not None and count < len(order):
            problems.add(None, f"{count} lines for {len(order)} test images: one line per test image is required")
        problems.raise_if_any()
        return result

    def score(self, run: dict[str, str], reference: VQAReference) -> dict[str, float]:
        if reference.ground_truth is None:
            raise ValueError("vqa: scoring needs reference answers")
        return {
            "accuracy": accuracy(run, reference.ground_truth),
            "bleu": bleu(run, reference.ground_truth, self.bleu_semantics),
        }

    def resampling(self, run: dict[str, str], reference: VQAReference, items: Sequence[str]) -> ItemSums:
        truth = {item: reference.ground_truth[item] for item in items}  # type: ignore[index]
        hits, bleus = answer_hits(run, truth), answer_bleus(run, truth, self.bleu_semantics)
        return mean_resampling({"accuracy": hits, "bleu": bleus})


class VQGSpec(TaskSpec):
    """Args:
    bleu_semantics: As for VQASpec.
    """

    reference_hint = "give --images <test image folder>, or --gt <reference questions>"
    ground_truth_grammar = "reference questions 'image_id|question[|question...]'"
    kind = "texts"
    id_separators = "|"

    def __init__(self, bleu_semantics: BleuSemantics = "legacy") -> None:
        self.name = "vqg"
        self.primary_metric = "bleu"
        self.bleu_semantics: BleuSemantics = bleu_semantics

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        lines = []
        for p in predictions:
            questions = [" ".join(q.replace("|", " ").split()) for q in p["texts"]]
            unique = list(dict.fromkeys(q for q in questions if q)) or ["what is shown in this image?"]
            lines.append("|".join([str(p["id"]), *unique]) + "\n")
        return "".join(lines)

    def sniff(self, lines: Sequence[str]) -> bool | None:
        """Questions after the id (a VQA QA pair ends with its answer, which is not a question)."""
        return mostly(lines, _asked)

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> VQAReference:
        truth = read_reference_questions(ground_truth) if ground_truth is not None else None
        order = _test_order(images) if images is not None else (list(truth) if truth is not None else None)
        return VQAReference(order, truth)

    def reference_for(self, predicted: PredictionSet, ground_truth: str | Path | None) -> VQAReference:
        truth = None
        if ground_truth is not None:
            truth = predicted_truth(read_reference_questions(ground_truth), predicted, ground_truth)
        return VQAReference(list(predicted.ids), truth)

    def parse_run(self, path: str | Path, reference: VQAReference | None) -> dict[str, list[str]]:
        """The official 2021 checks: no blank line or BOM, an id and at least one `|`, known ids (any order),
        not every question empty, one line per test image. An empty question beside others (`q1||q2`, a
        trailing `|`) is accepted and scored as the official evaluator does, with a warning."""
        problems = ProblemCollector(path)
        known = set(reference.order) if reference is not None and reference.order is not None else None
        result: dict[str, list[str]] = {}
        for number, text in read_lines(path, problems, strict=True):
            parts = text.split("|")
            image_id, questions = parts[0], [q.strip() for q in parts[1:]]
            if len(parts) < 2:
                problems.add(number, "expected '<image_id>|<question>[|<question>...]'")
            elif image_id in result:
                problems.add(number, f"duplicate image {image_id!r}")
            elif known is not None and image_id not in known:
                problems.add(number, f"unknown image {image_id!r}")
            elif not any(questions):
                problems.add(number, "empty question: no question after the image id")
            else:
                if not all(questions):
                    problems.warn(
                        number,
                        "empty question (a stray '|'): accepted and scored as the official evaluator does (it "
                        "matches only an empty reference question)",
                    )
                result[image_id] = questions
        if known is not None:
            problems.no_line(sorted(known), result, "test images")
        problems.raise_if_any()
        return result

    def score(self, run: dict[str, list[str]], reference: VQAReference) -> dict[str, float]:
        if reference.ground_truth is None:
            raise ValueError("vqg: scoring needs reference questions")
        return {"bleu": question_bleu(run, reference.ground_truth, self.bleu_semantics)}

    def resampling(self, run: dict[str, list[str]], reference: VQAReference, items: Sequence[str]) -> ItemSums:
        truth = {item: reference.ground_truth[item] for item in items}  # type: ignore[index]
        return mean_resampling({"bleu": question_bleus(run, truth, self.bleu_semantics)})


TASKS = [VQASpec(), VQGSpec()]
