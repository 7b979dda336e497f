"""The shared line reader: kind to our own annotation files, as strict as the official evaluators for runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from baselines.errors import FormatError, ProblemCollector
from baselines.io.lines import read_lines


def _read(tmp_path: Path, data: bytes, strict: bool) -> tuple[list[tuple[int, str]], list[str]]:
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    problems = ProblemCollector(path)
    lines = list(read_lines(path, problems, strict=strict))
    return lines, [f"{p.line}: {p.message}" for p in problems.problems]


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a\nb\n", [(1, "a"), (2, "b")]),
        (b"a\r\nb", [(1, "a"), (2, "b")]),  # CRLF, no final newline
        (b"\xef\xbb\xbfa\n\nb\n\n", [(1, "a"), (3, "b")]),  # BOM dropped, blank lines skipped
    ],
)
def test_kind_reading(tmp_path: Path, data: bytes, lines: list[tuple[int, str]]) -> None:
    assert _read(tmp_path, data, strict=False) == (lines, [])


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"a\n\nb\n", "2: blank or whitespace-only line"),
        (b"a\nb\n\n", "3: blank or whitespace-only line"),  # a blank line at the end, not just the final newline
        (b"a\n \t\nb\n", "2: blank or whitespace-only line"),
        (b"\xef\xbb\xbfa\nb\n", "1: starts with a UTF-8 byte-order mark"),
    ],
)
def test_strict_reading_reports_what_the_official_evaluators_reject(tmp_path: Path, data: bytes, problem: str) -> None:
    lines, problems = _read(tmp_path, data, strict=True)
    assert [text for _, text in lines] == ["a", "b"]
    assert len(problems) == 1 and problems[0].startswith(problem)


def test_strict_reading_accepts_a_plain_file_with_or_without_final_newline(tmp_path: Path) -> None:
    assert _read(tmp_path, b"a\nb\n", strict=True)[1] == []
    assert _read(tmp_path, b"a\r\nb", strict=True)[1] == []


def test_without_a_collector_the_first_problem_is_raised(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"a\n\nb\n")
    with pytest.raises(FormatError, match=r"f.txt:2: blank"):
        list(read_lines(path, strict=True))


def test_a_line_longer_than_the_cap_is_a_problem_and_never_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracemalloc

    path = tmp_path / "run.txt"
    with path.open("wb") as handle:
        handle.write(b"a\n")
        handle.write(b"X" * (20 << 20) + b"\tC0000101\n")  # one 20 MiB line
        handle.write(b"b\n")
    tracemalloc.start()
    problems = ProblemCollector(path)
    lines = list(read_lines(path, problems))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert lines == [(1, "a"), (3, "b")]  # the reader goes on after it
    assert [(p.line, p.message.split(" (")[0]) for p in problems.problems] == [
        (2, "line longer than 16,777,216 bytes, the cap on one line")
    ]
    assert peak < 18 << 20  # at most one capped line in memory, not 20 MiB and its decoded copies
    monkeypatch.setenv("BASELINES_MAX_LINE_BYTES", str(32 << 20))  # the override, for a real file that needs it
    assert len(list(read_lines(path))) == 3


def test_an_error_quotes_at_most_100_characters_of_an_id(tmp_path: Path) -> None:
    from baselines.tasks import get_task

    gt, run = tmp_path / "gt.txt", tmp_path / "run.txt"
    gt.write_text("img1\tC0000101\n")
    run.write_text("Y" * 300_000 + "\tC0000101\nimg1\tC0000101\n")
    spec = get_task("concepts")
    with pytest.raises(FormatError) as error:
        spec.parse_run(run, spec.load_reference(gt, None))
    message = str(error.value)
    assert "Y" * 100 + "'... (300,000 characters)" in message and "Y" * 101 not in message
    assert len(message) < 400
