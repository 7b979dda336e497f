"""Line readers of text files from others: streamed, capped, every problem named with file and line.

`read_lines` and `read_csv_rows` are how every reader of an official file or a run file meets its bytes
(BOM, CRLF, undecodable bytes, NUL bytes, empty files, overlong lines); problems go to a
`baselines.errors.ProblemCollector`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from baselines.errors import FormatError, Problem, ProblemCollector

MAX_LINE_BYTES = 16 * 1024 * 1024
"""The longest line `read_lines` reads (16 MiB; the longest official line, a coral image's polygons, holds well
under 1 MiB). A longer line is a problem and is skipped in pieces, never held: raise it with the environment
variable BASELINES_MAX_LINE_BYTES."""


def max_line_bytes() -> int:
    """MAX_LINE_BYTES, or BASELINES_MAX_LINE_BYTES when set (a real file with longer lines)."""
    value = os.environ.get("BASELINES_MAX_LINE_BYTES")
    if value is None:
        return MAX_LINE_BYTES
    if not value.isdigit() or int(value) <= 0:
        raise ValueError(f"BASELINES_MAX_LINE_BYTES must be a positive number of bytes, got {value!r}")
    return int(value)


def read_lines(
    path: str | Path, problems: ProblemCollector | None = None, strict: bool = False
) -> Iterator[tuple[int, str]]:
    """Yields (line number, text) for a text file, tolerating CRLF endings and a missing final newline.

    Undecodable bytes and NUL bytes become a problem naming the line rather than an exception from deep
    inside; a UTF-16 file and a file with no non-blank line (no official file is empty) are problems
    of the whole file. A line longer than `max_line_bytes()` is a problem and is skipped without being held:
    memory stays within that cap whatever the file.

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
        limit = max_line_bytes()
        for number, chunk in enumerate(_capped_lines(handle, limit), start=1):
            if chunk is None:
                found = True
                report(
                    number,
                    f"line longer than {limit:,} bytes, the cap on one line (skipped unread; set "
                    "BASELINES_MAX_LINE_BYTES to raise it for a real file)",
                )
                continue
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


def _capped_lines(handle: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """The file's lines (newline included), read in pieces of 64 KiB; None for a line longer than limit, whose
    pieces are dropped as they come (at most limit bytes of it are ever held)."""
    while True:
        piece = handle.readline(1 << 16)
        if not piece:
            return
        if piece.endswith(b"\n") or len(piece) < 1 << 16:  # the usual case: the whole line in one piece
            yield piece if len(piece) <= limit else None
            continue
        pieces, size = [piece], len(piece)
        while size <= limit and not pieces[-1].endswith(b"\n"):
            piece = handle.readline(1 << 16)
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
        if size <= limit:
            yield b"".join(pieces)
            continue
        last = pieces[-1]
        pieces.clear()
        while not last.endswith(b"\n"):  # the rest of the long line, dropped piece by piece
            last = handle.readline(1 << 16)
            if not last:
                break
        yield None


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
