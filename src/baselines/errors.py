"""Errors for malformed inputs: every problem names the file, the line and what was expected."""

from __future__ import annotations

import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Container, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

QUOTE_CHARS = 100
# a quoted id or field (no white space inside) longer than QUOTE_CHARS; a quoted text of over 1,000 characters
# (prose between apostrophes never is); any word of over 300 characters
_LONG_QUOTES = (
    re.compile(rf"""(?P<q>['"])(?P<head>[^\s'"]{{{QUOTE_CHARS}}})(?P<rest>[^\s'"]+)(?P=q)"""),
    re.compile(rf"""(?P<q>['"])(?P<head>[^'"\n]{{{QUOTE_CHARS}}})(?P<rest>[^'"\n]{{900,}})(?P=q)"""),
    re.compile(rf"""(?P<q>)(?P<head>\S{{{QUOTE_CHARS}}})(?P<rest>\S{{200,}})"""),
)


def shorten_quotes(message: str) -> str:
    """A message with every quoted id or field (`'...'`) cut to its first QUOTE_CHARS characters, and any other
    very long text too: a hostile 500 MB id is reported in a line, not echoed whole."""

    def cut(match: re.Match[str]) -> str:
        return f"{match['q']}{match['head']}{match['q']}... ({len(match['head']) + len(match['rest']):,} characters)"

    for pattern in _LONG_QUOTES:
        message = pattern.sub(cut, message)
    return message


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


LISTED_FILES = 20
"""How many files a DataError lists before only counting the rest."""


class DataError(Exception):
    """Input data a run cannot use: missing or unreadable files, two images with one id, a malformed annotation
    file. Every problem found is in the message (a list capped at LISTED_FILES, with the total), so it is fixed
    in one pass; `baselines train` and `baselines predict` print the message alone and exit 2 (a traceback only
    with HYDRA_FULL_ERROR=1)."""


class MissingDataError(FileNotFoundError, DataError):
    """A file or folder a run reads is not there."""


@contextmanager
def exits_on_data_error() -> Iterator[None]:
    """Around the body of `baselines train|predict`: a DataError is printed alone and the process exits 2, as
    `baselines validate` does; with HYDRA_FULL_ERROR=1 its traceback is printed too (before Hydra or the CLI
    could print it without one)."""
    try:
        yield
    except DataError as exc:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            traceback.print_exc()
        else:
            print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def listing(items: Sequence[str], limit: int = LISTED_FILES) -> str:
    """The first `limit` items, one a line, and how many more there are."""
    lines = list(items[:limit])
    if len(items) > limit:
        lines.append(f"... and {len(items) - limit} more ({len(items)} in all)")
    return "\n".join(lines)


class FormatError(ValueError, DataError):
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
            self.problems.append(Problem(self.path, line, shorten_quotes(message)))
        else:
            self.dropped += 1

    def warn(self, line: int | None, message: str) -> None:
        """Records something accepted but suspicious; `raise_if_any` issues it as a FormatWarning."""
        if len(self.notes) < self.limit:
            self.notes.append(Problem(self.path, line, shorten_quotes(message)))

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

    def no_line(
        self,
        expected: Iterable[str],
        named: Container[str],
        what: str,
        note: str = "",
        warn: bool = False,
        dots: bool = False,
    ) -> None:
        """Reports, as a whole-file problem, the expected ids no line names, in the order given:
        `<N> <what> have no line<note>: <the first SHOWN_IDS>` (nothing when every id is named).

        Args:
            expected: The ids of the reference, in the order they are listed.
            named: The ids the file's lines name.
            what: The ids in words, plural ("topics", "CTs of the test set").
            note: Said after "have no line" (e.g. how the ids are scored).
            warn: Report it as a warning (the file is accepted), not a problem.
            dots: End the list with " ..." when it is cut (`shown_ids`).
        """
        missing = [i for i in expected if i not in named]
        if missing:
            message = f"{len(missing)} {what} have no line{note}: {shown_ids(missing, dots)}"
            (self.warn if warn else self.add)(None, message)


SHOWN_IDS = 5
"""How many ids a message lists (`shown_ids`)."""


def shown_ids(ids: Sequence[str], dots: bool = False) -> str:
    """The first SHOWN_IDS ids, comma-separated; with dots, " ..." after them when there are more."""
    return ", ".join(ids[:SHOWN_IDS]) + (" ..." if dots and len(ids) > SHOWN_IDS else "")


Key = TypeVar("Key", bound=Hashable)


class FirstLines(Generic[Key]):
    """The line each key (an id, a (topic, image) pair) is first named on, reporting a repeat on its line as
    `<what the key is> (first on line <N>)`.

    Args:
        problems: Where repeats are reported.
        what: The noun of a key, for `duplicate <noun> '<key>'`, or a function wording the repeated key.
    """

    def __init__(self, problems: ProblemCollector, what: str | Callable[[Key], str]) -> None:
        self.problems = problems
        self.word = what if callable(what) else lambda key: f"duplicate {what} {key!r}"
        self.lines: dict[Key, int] = {}

    def __contains__(self, key: object) -> bool:
        return key in self.lines

    def __len__(self) -> int:
        return len(self.lines)

    def repeated(self, key: Key, line: int, note: str = "", warn: bool = False) -> bool:
        """Whether key was named on an earlier line; if so, reports it on this one.

        Args:
            note: Said after "(first on line N)".
            warn: Report it as a warning (the reader accepts the repeat), not a problem.
        """
        first = self.lines.get(key)
        if first is None:
            return False
        (self.problems.warn if warn else self.problems.add)(line, f"{self.word(key)} (first on line {first}){note}")
        return True

    def record(self, key: Key, line: int) -> None:
        """Notes key as named on this line, unless it was named before."""
        self.lines.setdefault(key, line)

    def add(self, key: Key, line: int, note: str = "") -> bool:
        """Records key on this line when it is new; reports a repeat (`repeated`) and returns False."""
        if self.repeated(key, line, note):
            return False
        self.lines[key] = line
        return True
