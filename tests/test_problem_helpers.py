"""The shared wording of repeats and coverage (`FirstLines`, `ProblemCollector.no_line`) and the readers
that use it: a repeat names the line the key was first on, the missing ids are counted and the first shown."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from baselines.errors import FirstLines, FormatError, FormatWarning, ProblemCollector
from baselines.io.grouped import CORAL_PIXEL, parse_grouped_file
from baselines.tasks import get_task
from baselines.tasks.lifelog import ParticipantReference
from baselines.types import ImageSet


def _raised(problems: ProblemCollector) -> list[str]:
    with pytest.raises(FormatError) as info:
        problems.raise_if_any()
    return [str(p) for p in info.value.problems]


def test_a_repeat_names_the_line_of_the_first() -> None:
    problems = ProblemCollector("f.txt")
    first: FirstLines[str] = FirstLines(problems, "image")
    assert first.add("a", 1) and first.add("b", 2)
    assert not first.add("a", 3)
    assert not first.add("a", 4, ": one line per image")
    assert "a" in first and len(first) == 2 and first.lines == {"a": 1, "b": 2}  # a repeat moves nothing
    assert _raised(problems) == [
        "f.txt:3: duplicate image 'a' (first on line 1)",
        "f.txt:4: duplicate image 'a' (first on line 1): one line per image",
    ]


def test_a_repeat_worded_by_a_function_and_a_tolerated_repeat_is_a_warning() -> None:
    problems = ProblemCollector("gt.txt")
    first: FirstLines[tuple[str, str]] = FirstLines(problems, lambda key: f"image {key[1]!r} judged twice")
    first.record(("t", "x"), 5)
    first.record(("t", "x"), 7)  # record keeps the first line
    assert first.repeated(("t", "x"), 9, ": kept", warn=True)
    assert not first.repeated(("t", "y"), 9)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problems.raise_if_any()  # a warning only: nothing raised
    assert [str(w.message) for w in caught] == ["gt.txt:9: image 'x' judged twice (first on line 5): kept"]
    assert all(w.category is FormatWarning for w in caught)


def test_no_line_counts_the_missing_ids_and_shows_the_first_five_in_the_order_given() -> None:
    problems = ProblemCollector("run.txt")
    expected = [f"i{k}" for k in (7, 1, 6, 2, 5, 3, 4)]
    problems.no_line(expected, {"i2"}, "test images")
    problems.no_line(expected, {"i2"}, "reference images", " (scored as no region)", dots=True)
    problems.no_line(expected, set(expected), "topics")  # every id named: nothing
    assert _raised(problems) == [
        "run.txt: 6 test images have no line: i7, i1, i6, i5, i3",
        "run.txt: 6 reference images have no line (scored as no region): i7, i1, i6, i5, i3 ...",
    ]


def test_the_readers_keep_their_coverage_wording_past_five_ids(tmp_path: Path) -> None:
    # the grouped grammar ends a cut list with " ..." and the other run files do not (tests/conformance/tbct
    # pins the second with 6 CTs): both wordings are kept
    run = tmp_path / "run.txt"
    run.write_text("i0.jpg;a 1:1x1+0+0\ni0.jpg;a 1:1x1+0+0\n")
    sizes = {f"i{k}.jpg": (10, 10) for k in range(8)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parse_grouped_file(run, ["a"], "box", ImageSet(sizes=sizes), CORAL_PIXEL)
    assert [str(w.message) for w in caught] == [
        f"{run}:2: duplicate image 'i0.jpg' (first on line 1): its regions are added to the first line's",
        f"{run}: 7 reference images have no line (scored as no region): i1.jpg, i2.jpg, i3.jpg, i4.jpg, i5.jpg ...",
    ]
    run.write_text("p3,0.5\n")
    with pytest.raises(FormatError) as info:
        get_task("spll").parse_run(run, ParticipantReference({f"p{k}" for k in range(8)}))
    assert str(info.value) == f"{run}: 7 participants have no line: p0, p1, p2, p4, p5"
