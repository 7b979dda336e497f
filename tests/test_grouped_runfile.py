"""The `image;class conf:WxH+X+Y,...` grammar (drawnUI, coral subtask 1): validator, writer, round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from baselines.cli import main
from baselines.data.formats.drawnui import DRAWNUI_CLASSES
from baselines.errors import FormatError
from baselines.runfiles.grouped import format_grouped_lines, parse_grouped_file
from baselines.tasks import get_task
from baselines.types import ImageSet, Region

OK = "a.jpg;paragraph 0.9:10x10+0+0,0.5:20x5+30+40;button 1:5x5+95+75"


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", (100, 80), "white").save(folder / name)
    return folder


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "run.txt"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def _reference(images: Path) -> ImageSet:
    return get_task("drawnui").load_reference(None, images)


def test_valid_run_parses_with_sizes(tmp_path: Path, images: Path) -> None:
    run = parse_grouped_file(_write(tmp_path, OK + "\nb.jpg\n"), DRAWNUI_CLASSES, "box", _reference(images))
    assert run["b.jpg"] == []
    assert run["a.jpg"] == [
        Region(0, 0.9, (0, 0, 10, 10)),
        Region(0, 0.5, (30, 40, 50, 45)),
        Region(15, 1.0, (95, 75, 100, 80)),
    ]


def test_bom_crlf_and_trailing_semicolon_are_accepted(tmp_path: Path, images: Path) -> None:
    text = ("\ufeff" + OK + "\r\nb.jpg;\r\n\r\n").encode()
    run = parse_grouped_file(_write(tmp_path, text), DRAWNUI_CLASSES, "box", _reference(images))
    assert set(run) == {"a.jpg", "b.jpg"}


def test_missing_image_is_reported_for_the_whole_file(tmp_path: Path, images: Path) -> None:
    with pytest.raises(FormatError) as info:
        parse_grouped_file(_write(tmp_path, OK + "\n"), DRAWNUI_CLASSES, "box", _reference(images))
    assert [(p.line, p.message) for p in info.value.problems] == [(None, "1 reference images have no line: b.jpg")]


def test_invalid_utf8_is_a_line_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"run.txt:2: not valid UTF-8"):
        parse_grouped_file(_write(tmp_path, OK.encode() + b"\nb\xff.jpg\n"), DRAWNUI_CLASSES, "box")


def test_every_problem_is_listed_not_just_the_first(tmp_path: Path, images: Path) -> None:
    path = _write(tmp_path, "a.jpg;foo 0.9:1x1+0+0\nb.jpg;paragraph 2:1x1+0+0\n")
    with pytest.raises(FormatError) as info:
        parse_grouped_file(path, DRAWNUI_CLASSES, "box", _reference(images))
    assert [p.line for p in info.value.problems] == [1, 2]


def test_writer_rounds_clips_and_orders(tmp_path: Path) -> None:
    regions = [
        Region(3, 0.25, (10.4, 5.6, 30.5, 9.9)),
        Region(3, 0.75, (99.6, 0.0, 100.0, 80.0)),  # rounds to zero width: kept one pixel wide, inside
        Region(0, 1.0, (0, 0, 5, 5)),
    ]
    text = format_grouped_lines({"a.jpg": regions, "b.jpg": []}, DRAWNUI_CLASSES, "box")
    assert text == "a.jpg;paragraph 1:5x5+0+0;radiobutton 0.75:1x80+99+0,0.25:20x4+10+6\nb.jpg\n"


boxes = st.tuples(
    st.integers(0, 90), st.integers(0, 70), st.integers(1, 10), st.integers(1, 10), st.integers(0, 20)
).map(lambda t: Region(t[4], 1.0, (t[0], t[1], t[0] + t[2], t[1] + t[3])))
scores = st.floats(0, 1).map(lambda s: round(s, 4))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(boxes, scores), max_size=12))
def test_write_then_parse_round_trip(tmp_path_factory: pytest.TempPathFactory, items: list) -> None:
    regions = [Region(r.label, s, r.box) for r, s in items]
    path = tmp_path_factory.mktemp("rt") / "run.txt"
    path.write_text(format_grouped_lines({"a.jpg": regions}, DRAWNUI_CLASSES, "box"))
    parsed = parse_grouped_file(path, DRAWNUI_CLASSES, "box")["a.jpg"]
    key = lambda r: (r.label, -r.score, r.box)  # noqa: E731
    assert sorted(parsed, key=key) == sorted(regions, key=key)


def test_official_ground_truth_line_parses(tmp_path: Path) -> None:
    line = "005a1269ffaaac13.jpg;paragraph 1:199x47+380+912;button 1:139x82+210+292,1:169x74+882+247"
    truth = parse_grouped_file(_write(tmp_path, line + "\n"), DRAWNUI_CLASSES, "box")
    boxes = np.array([r.box for r in truth["005a1269ffaaac13.jpg"]])
    np.testing.assert_array_equal(boxes, [[380, 912, 579, 959], [210, 292, 349, 374], [882, 247, 1051, 321]])


def test_cli_validate_exit_codes(tmp_path: Path, images: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, OK + "\nb.jpg\n")
    assert main(["validate", "--task", "drawnui", str(good), "--images", str(images)]) == 0
    bad = tmp_path / "bad.txt"
    bad.write_text(OK + "\nb.jpg;paragraph 0.9:10x10\n")
    assert main(["validate", "--task", "drawnui", str(bad), "--images", str(images)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: class paragraph: region '10x10' is not WxH+X+Y" in err


def test_cli_unknown_task_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--task", "nope", str(_write(tmp_path, OK))]) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err
