"""Errors for malformed inputs: every problem names the file, the line and what was expected."""

from __future__ import annotations

import csv
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    Attributes:
        path: The file the problem is in.
        line: 1-based line number, or None when the problem concerns the whole file.
        message: What was found and what was expected.
    """

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class FormatError(ValueError):
    """Raised when an annotation or run file does not follow its official format.

    It carries every problem found (up to a cap), so a user fixes a file in one pass.
    """

    def __init__(self, problems: list[Problem], truncated: int = 0) -> None:
        self.problems = problems
        self.truncated = truncated
        lines = [str(p) for p in problems]
        if truncated:
            lines.append(f"... and {truncated} more problems")
        super().__init__("\n".join(lines))


class FormatWarning(UserWarning):
    """Something in an input file the official evaluator accepts but that is most likely a mistake
    (e.g. a concept run without any CUI-like concept): reported, not refused."""


class ProblemCollector:
    """Collects problems while a file is read, then raises them together.

    Args:
        path: The file being read; every problem is reported against it.
        limit: How many problems to keep before only counting the rest.
    """

    def __init__(self, path: str | Path, limit: int = 50) -> None:
        self.path = str(path)
        self.limit = limit
        self.problems: list[Problem] = []
        self.dropped = 0
        self.notes: list[Problem] = []

    def add(self, line: int | None, message: str) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(Problem(self.path, line, message))
        else:
            self.dropped += 1

    def warn(self, line: int | None, message: str) -> None:
        """Records something accepted but suspicious; `raise_if_any` issues it as a FormatWarning."""
        if len(self.notes) < self.limit:
            self.notes.append(Problem(self.path, line, message))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        """Issues the warnings, then raises the problems, in line order (whole-file problems last)."""
        for note in self.notes:
            warnings.warn(FormatWarning(str(note)), stacklevel=2)
        self.notes = []
        if self.problems:
            ordered = sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))
            raise FormatError(ordered, self.dropped)


def read_lines(
    path: str | Path, problems: ProblemCollector | None = None, strict: bool = False
) -> Iterator[tuple[int, str]]:
    """Yields (line number, text) for a text file, tolerating CRLF endings and a missing final newline.

    Undecodable bytes and NUL bytes become a problem naming the line rather than an exception from deep
    inside; a UTF-16 file and a file with no non-blank line (no official file is empty) are problems
    of the whole file.

    Args:
        path: The file.
        problems: Where problems go; without one, the first problem is raised.
        strict: Read as the official evaluators of the run files do (VQA-Med, concepts, TB, LMRT): a
            blank or whitespace-only line (anywhere, the end included) and a UTF-8 byte-order mark are
            problems, since the official scripts reject such a run. Otherwise (annotation and
            ground-truth files, which are ours to read kindly) blank lines are skipped and a BOM dropped.

    Raises:
        FormatError: If the file does not exist; without a collector, for the first problem found.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError([Problem(str(path), None, "file not found")])
    sink = problems if problems is not None else ProblemCollector(path, limit=1)

    def report(line: int | None, message: str) -> None:
        sink.add(line, message)
        if problems is None:
            sink.raise_if_any()

    found = False
    with path.open("rb") as handle:  # line by line: a validator never holds the whole file
        head = handle.read(3)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            sink.add(None, "UTF-16 text (a byte-order mark says so): save the file as UTF-8")
            sink.raise_if_any()  # even with a collector: every line of it would be a problem too
        if head == b"\xef\xbb\xbf":
            if strict:
                report(1, f"starts with a UTF-8 byte-order mark, which the official evaluator reads as {_BOM_READ}")
        else:
            handle.seek(0)
        for number, chunk in enumerate(handle, start=1):
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                found = True
                report(number, f"not valid UTF-8 ({exc.reason} at byte {exc.start + 1} of the line)")
                continue
            text = text.rstrip("\n").rstrip("\r")
            if "\x00" in text:
                found = True
                report(number, "contains a NUL byte: a binary file, not a text file")
                continue
            if text.strip():
                found = True
                yield number, text
            elif strict:
                report(number, "blank or whitespace-only line: the official evaluator rejects the file (remove it)")
    if not found:
        report(None, "empty file: no non-blank line")


_BOM_READ = "part of the first id: save the file without BOM"


def read_csv_rows(
    path: str | Path, required: Sequence[str], problems: ProblemCollector
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Reads a comma-separated file with a header row (quoted fields allowed, values stripped).

    Rows whose field count differs from the header's, or that leave a required column empty, are
    added to problems with their line number and left out.

    Returns:
        The header's column names and (line number, column -> value) for each good row.

    Raises:
        FormatError: If the file is missing or empty, or its header lacks a required column.
    """
    lines = read_lines(path, problems)
    first = next(lines, None)
    if first is None:
        problems.raise_if_any()
        raise FormatError([Problem(str(path), None, "empty file: expected a header row")])
    header = [h.strip() for h in next(csv.reader([first[1]]))]
    missing = [name for name in required if name not in header]
    if missing:
        problems.add(first[0], f"header lacks column(s) {', '.join(missing)}; got {', '.join(header)}")
        problems.raise_if_any()
    numeric = [h for h in header if _is_number(h)]
    if numeric:
        problems.add(first[0], f"expected a header row naming the columns; got values {', '.join(numeric[:3])}")
        problems.raise_if_any()
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        problems.add(first[0], f"header repeats column(s) {', '.join(repeated)}")
        problems.raise_if_any()
    rows = []
    for number, text in lines:
        try:
            fields = [f.strip() for f in next(csv.reader([text], strict=True))]
        except csv.Error as exc:
            problems.add(number, f"not a valid CSV row ({exc})")
            continue
        if len(fields) != len(header):
            problems.add(number, f"{len(fields)} comma-separated values; the header has {len(header)}")
            continue
        row = dict(zip(header, fields, strict=True))
        empty = [name for name in required if not row[name]]
        if empty:
            problems.add(number, f"empty value in column(s) {', '.join(empty)}")
            continue
        rows.append((number, row))
    return header, rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
