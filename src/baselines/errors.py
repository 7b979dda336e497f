"""Errors for malformed inputs: every problem names the file, the line and what was expected."""

from __future__ import annotations

from collections.abc import Iterator
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

    def add(self, line: int | None, message: str) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(Problem(self.path, line, message))
        else:
            self.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise FormatError(self.problems, self.dropped)


def read_lines(path: str | Path, problems: ProblemCollector | None = None) -> Iterator[tuple[int, str]]:
    """Yields (line number, text) for a text file, tolerating a UTF-8 BOM and CRLF endings.

    Blank lines are skipped: the official files end with a newline and some carry trailing blank
    lines. Undecodable bytes become a problem naming the line rather than a UnicodeDecodeError.

    Raises:
        FormatError: If the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError([Problem(str(path), None, "file not found")])
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            if problems is None:
                raise FormatError([Problem(str(path), number, f"not valid UTF-8 ({exc.reason})")]) from None
            problems.add(number, f"not valid UTF-8 ({exc.reason})")
            continue
        text = text.rstrip("\r")
        if text.strip():
            yield number, text
