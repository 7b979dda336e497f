"""VQA-Med files: `|`-separated lines.

- VQA train/val (QA pairs): `image_id|question|answer`; test questions `image_id|question`; reference
  answers `image_id|answer` (2020: mixed case, some leading spaces, `#` between alternatives) or
  `image_id|answer|alternative...` (2021, `Task1-VQAnswering2021-Test-ReferenceAnswers-4Evaluator.txt`).
- VQG: `image_id|question` lines (several per image) or `image_id|q1|q2|...`; the 2021 test set lists
  bare image ids, one per line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from baselines.errors import FirstLines, ProblemCollector
from baselines.io.lines import read_lines

ReferenceLayout = Literal["auto", "answers", "qa_pairs"]
"""How a VQA ground-truth file is laid out: `answers` (`image_id|answer[|alternative...]`, the
organisers' 4Evaluator files), `qa_pairs` (`image_id|question|answer`, a train or validation split), or
`auto` (told apart from the lines themselves, see `read_answers`)."""

# First words of a question (VQA-Med questions: "what is abnormal in the ct scan?", "is this image normal?").
_QUESTION_WORDS = frozenset(
    "what which where when who whom whose why how is are was were does do did can could should would will has "
    "have had".split()
)


def read_pipe_file(
    path: str | Path, fields: int | tuple[int, ...], what: str, unique: bool
) -> list[tuple[int, list[str]]]:
    """Lines split on `|` with exactly `fields` (or one of the counts in `fields`) non-empty fields (kept as
    written, the id stripped).

    Args:
        unique: Whether an image id may appear on one line only (test questions and answers).
    """
    counts = (fields,) if isinstance(fields, int) else fields
    problems = ProblemCollector(path)
    rows = []
    first: FirstLines[str] = FirstLines(problems, "image")
    for number, text in read_lines(path, problems):
        parts = text.split("|")
        if len(parts) not in counts:
            problems.add(number, f"{len(parts)} '|'-separated fields; expected {what}")
            continue
        empty = [str(i) for i, part in enumerate(parts, start=1) if not part.strip()]
        if empty:
            problems.add(number, f"field(s) {', '.join(empty)} empty; expected {what}")
            continue
        image_id = parts[0].strip()
        if unique and not first.add(image_id, number):
            continue
        rows.append((number, [image_id, *parts[1:]]))
    problems.raise_if_any()
    return rows


def read_qa(path: str | Path) -> list[tuple[str, str, str]]:
    """`image_id|question|answer` rows in file order."""
    return [(r[0], r[1], r[2]) for _, r in read_pipe_file(path, 3, "'image_id|question|answer'", unique=False)]


def read_questions(path: str | Path) -> list[tuple[str, str]]:
    """The questions to answer, in the order the run must follow: a test questions file `image_id|question`,
    or a split's QA pairs `image_id|question|answer` (the answer is not read), so a validation split is
    predicted from its released file (`VQAnswering_2020_Val_QA_Pairs.txt`)."""
    what = "'image_id|question' (test questions) or 'image_id|question|answer' (a split's QA pairs)"
    return [(r[0], r[1]) for _, r in read_pipe_file(path, (2, 3), what, unique=True)]


def read_test_ids(path: str | Path) -> list[str]:
    """Test image ids in test-set order: from a test questions file (`image_id|question`), or from a list of
    bare image ids, one a line (the 2021 VQG test set file, `Task2-VQGeneration2021-TestSet.txt`)."""
    problems = ProblemCollector(path)
    rows = list(read_lines(path, problems))
    problems.raise_if_any()
    if any("|" in text for _, text in rows):
        return [image_id for image_id, _ in read_questions(path)]
    return [row[0] for _, row in read_pipe_file(path, 1, "'image_id'", unique=True)]


def looks_like_question(text: str) -> bool:
    """Whether a field reads as a question: it ends with `?` or starts with a question word."""
    words = text.strip().lower().split()
    return bool(words) and (words[-1].endswith("?") or words[0] in _QUESTION_WORDS)


_ONE_LINE_PER_IMAGE = ": a VQA run has one answer per image, so its ground truth has one line per image"


def read_answers(path: str | Path, layout: ReferenceLayout = "auto") -> dict[str, list[str]]:
    """VQA ground truth: image id -> the accepted answers (alternatives), in file order (the run's order).

    Three layouts hold it: the organisers' reference files `image_id|answer` (2020, `#` between
    alternatives) and `image_id|answer|alternative...` (2021: its evaluator reads `row[1:]`), and the
    QA-pairs file of a split, `image_id|question|answer` (what a validation split comes with).
    `#` separates alternatives in every layout.

    `auto` tells them apart: a line with 2 or with 4+ fields exists only in a reference file; when every
    line has 3 fields, the second field is a question on every line (it ends with `?` or starts with a
    question word) in a QA-pairs file and on none in a reference file with one alternative per line.
    A file where it is a question on some lines only is refused rather than guessed.

    Args:
        layout: `auto`, or `answers` / `qa_pairs` to say which it is.

    Raises:
        FormatError: For an empty field, a repeated image id, a line the layout cannot hold, or a file whose
            layout cannot be told.
    """
    problems = ProblemCollector(path)
    rows: list[tuple[int, list[str]]] = []
    first: FirstLines[str] = FirstLines(problems, "image")
    for number, text in read_lines(path, problems):
        parts = text.split("|")
        if len(parts) < 2:
            problems.add(number, "no '|': expected 'image_id|answer[|alternative...]' or 'image_id|question|answer'")
            continue
        empty = [str(i) for i, part in enumerate(parts, start=1) if not part.strip()]
        if empty:
            problems.add(number, f"field(s) {', '.join(empty)} empty")
            continue
        image_id = parts[0].strip()
        if not first.add(image_id, number, _ONE_LINE_PER_IMAGE):
            continue
        rows.append((number, [image_id, *parts[1:]]))
    problems.raise_if_any()
    if layout == "auto":
        layout = _detect_layout(rows, problems)
        if layout == "answers" and all(looks_like_question(parts[1]) for _, parts in rows):
            problems.add(
                None,
                "every answer is a question: this looks like a questions file (test questions or VQG), not "
                "the reference answers",
            )
    if layout == "qa_pairs":
        for number, parts in rows:
            if len(parts) != 3:
                problems.add(number, f"{len(parts)} '|'-separated fields; expected 'image_id|question|answer'")
    problems.raise_if_any()
    if layout == "qa_pairs":
        return {parts[0]: parts[2].split("#") for _, parts in rows}
    return {parts[0]: [alt for field in parts[1:] for alt in field.split("#")] for _, parts in rows}


def _detect_layout(rows: list[tuple[int, list[str]]], problems: ProblemCollector) -> ReferenceLayout:
    if any(len(parts) != 3 for _, parts in rows):
        return "answers"
    asked = [number for number, parts in rows if looks_like_question(parts[1])]
    if len(asked) == len(rows):
        return "qa_pairs"
    if asked:
        other = next(number for number, parts in rows if not looks_like_question(parts[1]))
        problems.add(
            None,
            f"every line has 3 '|'-separated fields, and the second is a question on {len(asked)} lines "
            f"(e.g. line {asked[0]}) but not on {len(rows) - len(asked)} (e.g. line {other}): cannot tell "
            "QA pairs 'image_id|question|answer' from reference answers 'image_id|answer|alternative'. "
            "Give the reference as 'image_id|answer' lines (e.g. cut -d'|' -f1,3 of the QA pairs), or read "
            "it with layout='qa_pairs' or 'answers' (VQASpec(reference_layout=...))",
        )
        problems.raise_if_any()
    return "answers"


def read_generated_questions(path: str | Path) -> dict[str, list[str]]:
    """VQG questions: `image_id|q1|q2|...` lines, repeated ids merged, empty questions dropped."""
    problems = ProblemCollector(path)
    result: dict[str, list[str]] = {}
    for number, text in read_lines(path, problems):
        parts = text.split("|")
        if len(parts) < 2 or not parts[0].strip():
            problems.add(number, "expected 'image_id|question[|question...]'")
            continue
        questions = [q.strip() for q in parts[1:] if q.strip()]
        if not questions:
            problems.add(number, "no question after the image id")
            continue
        result.setdefault(parts[0].strip(), []).extend(questions)
    problems.raise_if_any()
    return result


def read_reference_questions(path: str | Path) -> dict[str, list[str]]:
    """VQG ground truth `image_id|q1|q2|...` as the official 2021 evaluator scores it, in file order.

    Each question is stripped and an empty one (from `q1||q2` or a trailing `|`) is kept, as the official
    reader keeps it: a generated question made only of stopwords matches it with BLEU 1. That is reported
    as a FormatWarning. A line without any question is an error. An image id on several lines gets the
    questions of all of them (a per-question file, like the training data); the official reader would keep
    only the last line, which is reported as a FormatWarning.
    """
    problems = ProblemCollector(path)
    result: dict[str, list[str]] = {}
    first: FirstLines[str] = FirstLines(problems, "image")
    repeated: list[tuple[str, int]] = []  # reported together, as a warning
    for number, text in read_lines(path, problems):
        parts = text.split("|")
        image_id = parts[0].strip()
        if len(parts) < 2 or not image_id:
            problems.add(number, "expected 'image_id|question[|question...]'")
            continue
        questions = [q.strip() for q in parts[1:]]
        if not any(questions):
            problems.add(number, "no question after the image id")
            continue
        if not all(questions):
            problems.warn(
                number,
                "empty reference question (a stray '|'): kept, as the official evaluator keeps it; a generated "
                "question made only of stopwords scores BLEU 1 against it",
            )
        if image_id in first:
            repeated.append((image_id, number))
        first.record(image_id, number)
        result.setdefault(image_id, []).extend(questions)
    if repeated:
        image_id, number = repeated[0]
        problems.warn(
            None,
            f"{len(repeated)} lines repeat an image id (e.g. {image_id!r} on lines {first.lines[image_id]} and "
            f"{number}): "
            "their questions are merged; the official 2021 VQG evaluator would keep only each id's last line",
        )
    problems.raise_if_any()
    return result


def answer_key(answer: str) -> str:
    """Class label of an answer: lowercased, whitespace collapsed."""
    return " ".join(answer.lower().split())
