"""VQA-Med 2020 files: `|`-separated lines.

- VQA train/val: `image_id|question|answer`; test questions `image_id|question`; reference answers
  `image_id|answer` (mixed case, some leading spaces; `#` separates alternatives).
- VQG: `image_id|question` lines (several per image) or `image_id|q1|q2|...`.
"""

from __future__ import annotations

from pathlib import Path

from baselines.errors import ProblemCollector, read_lines


def read_pipe_file(path: str | Path, fields: int, what: str, unique: bool) -> list[tuple[int, list[str]]]:
    """Lines split on `|` with exactly `fields` non-empty fields (kept as written, the id stripped).

    Args:
        unique: Whether an image id may appear on one line only (test questions and answers).
    """
    problems = ProblemCollector(path)
    rows = []
    first: dict[str, int] = {}
    for number, text in read_lines(path, problems):
        parts = text.split("|")
        if len(parts) != fields:
            problems.add(number, f"{len(parts)} '|'-separated fields; expected '{what}'")
            continue
        empty = [str(i) for i, part in enumerate(parts, start=1) if not part.strip()]
        if empty:
            problems.add(number, f"field(s) {', '.join(empty)} empty; expected '{what}'")
            continue
        image_id = parts[0].strip()
        if unique and image_id in first:
            problems.add(number, f"duplicate image {image_id!r} (first on line {first[image_id]})")
            continue
        first.setdefault(image_id, number)
        rows.append((number, [image_id, *parts[1:]]))
    problems.raise_if_any()
    return rows


def read_qa(path: str | Path) -> list[tuple[str, str, str]]:
    """`image_id|question|answer` rows in file order."""
    return [(r[0], r[1], r[2]) for _, r in read_pipe_file(path, 3, "image_id|question|answer", unique=False)]


def read_questions(path: str | Path) -> list[tuple[str, str]]:
    """Test questions `image_id|question` in test-set order."""
    return [(r[0], r[1]) for _, r in read_pipe_file(path, 2, "image_id|question", unique=True)]


def read_answers(path: str | Path) -> dict[str, str]:
    """Reference answers `image_id|answer`, in file order (the order run files must follow)."""
    return {r[0]: r[1] for _, r in read_pipe_file(path, 2, "image_id|answer", unique=True)}


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


def answer_key(answer: str) -> str:
    """Class label of an answer: lowercased, whitespace collapsed."""
    return " ".join(answer.lower().split())
