"""Bad inputs for every parser and validator, table-driven: annotation files and run files of every task.

Each format has a valid file and its own table of (file text, line of the error or None for the
whole file, words of the message). Every format also gets the generic cases (empty, blank-only,
undecodable or binary, missing file), the accepted variants (BOM, CRLF, no final newline, trailing
blank lines) and every other format's valid file ("the wrong task's file"). A bad input must give a
FormatError naming the file and the line, never another exception from deep inside.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from baselines.errors import FormatError, FormatWarning
from baselines.io.formats.coral import parse_coral_annotations
from baselines.io.formats.lifelog import read_clusters, read_judgements, read_metadata, read_topics
from baselines.io.formats.medcaption import read_concepts
from baselines.io.formats.tabular import read_table
from baselines.io.formats.tuberculosis import LABELS, read_labels
from baselines.io.formats.vqamed import read_answers, read_generated_questions, read_qa, read_reference_questions
from baselines.tasks import get_task
from baselines.tasks.lifelog import LifelogReference, ParticipantReference
from baselines.tasks.medcaption import CaptionReference
from baselines.tasks.tuberculosis import CTReference
from baselines.tasks.vqamed import VQAReference
from baselines.types import ImageSet

Case = tuple[str, int | None, str]


@dataclass(frozen=True)
class Format:
    """A file format: how to parse it (with its reference), a valid file, and its own bad cases."""

    name: str
    parse: Callable[[Path], Any]
    valid: str
    cases: Sequence[Case]
    suffix: str = ".txt"
    strict: bool = False  # a run file read as its official evaluator reads it: no BOM, no blank line


def lines(*texts: str) -> str:
    return "".join(t + "\n" for t in texts)


HUGE = "9" * 5000

# --- grouped regions: drawnUI and coral run files (same grammar, different classes) ----------------------
DRAWNUI_OK = "a.jpg;paragraph 0.9:10x10+0+0,0.5:20x5+30+40;button 1:5x5+95+75"
GROUPED_BOX_LINES: list[tuple[str, int | None, str]] = [
    # (second line after DRAWNUI_OK, line, message)
    ("a.jpg|paragraph 0.9:10x10+0+0", 2, "contains whitespace"),
    ("a.jpg,paragraph 0.9:10x10+0+0", 2, "contains whitespace"),
    ("b.jpg;paragraph 10x10+0+0", 2, "has no confidence"),
    ("b.jpg;paragrph 0.9:10x10+0+0", 2, "unknown class 'paragrph'"),
    ("zzz.jpg;paragraph 0.9:10x10+0+0", 2, "unknown image 'zzz.jpg'"),
    ("b.jpg;paragraph 0.9:50x10+60+0", 2, "outside the 100x80 image"),
    ("b.jpg;paragraph 0.9:10x81+0+0", 2, "outside the 100x80 image"),
    ("b.jpg;paragraph abc:10x10+0+0", 2, "is not a number"),
    ("b.jpg;paragraph 0.9:10xA+0+0", 2, "not WxH+X+Y"),
    ("b.jpg;paragraph 1.5:10x10+0+0", 2, "in [0, 1]"),
    ("b.jpg;paragraph -0.1:10x10+0+0", 2, "in [0, 1]"),
    ("b.jpg;paragraph nan:10x10+0+0", 2, "finite"),
    ("b.jpg;paragraph inf:10x10+0+0", 2, "finite"),
    ("b.jpg;paragraph 1e400:10x10+0+0", 2, "finite"),
    ("b.jpg;paragraph 0.9:10x10+-5+0", 2, "not WxH+X+Y"),
    ("b.jpg;paragraph 0.9:10.5x10+0+0", 2, "not WxH+X+Y"),
    ("b.jpg;paragraph 0.9:10x10+0", 2, "not WxH+X+Y"),
    ("b.jpg;paragraph 0.9:10x1", 2, "not WxH+X+Y"),  # a truncated last line
    (f"b.jpg;paragraph 0.9:{HUGE}x10+0+0", 2, "9 digits at most"),
    ("b.jpg;paragraph 0.9:１0x10+0+0", 2, "not WxH+X+Y"),  # a full-width digit
    ("b.jpg;paragraph0.9:10x10+0+0", 2, "one space"),
    ("b.jpg;paragraph  0.9:10x10+0+0", 2, "extra whitespace"),
    ("b.jpg;;paragraph 0.9:10x10+0+0", 2, "field 2 is empty"),
    ("b.jpg;paragraph 0.9:10x10+0+0,", 2, "empty region"),
    ("b.jpg;paragraph 0.9:10x10+0+0;paragraph 0.8:10x10+1+1", 2, "more than one group"),
    (";paragraph 0.9:10x10+0+0", 2, "expected an image id"),
    (" b.jpg;paragraph 0.9:10x10+0+0", 2, "surrounding spaces"),
    ("a.jpg;button 0.9:10x10+0+0", 2, "duplicate image 'a.jpg' (first on line 1)"),
    ("b.jpg;paragraph 0.9:10x10+0+0;", 2, "field 3 is empty"),
    ("bé.jpg;paragraph 0.9:10x10+0+0", 2, "unknown image 'bé.jpg'"),
]
GROUPED_BOX_CASES: list[Case] = [(lines(DRAWNUI_OK, line), n, m) for line, n, m in GROUPED_BOX_LINES] + [
    (lines(DRAWNUI_OK), None, "1 reference images have no line: b.jpg"),
]
_TO_CORAL = (
    ("a.jpg", "img1"),
    ("b.jpg", "img2"),
    ("zzz.jpg", "zzz"),
    ("bé.jpg", "imgé"),
    ("paragrph", "c_soft_corl"),
    ("paragraph", "c_soft_coral"),
    ("button", "c_sponge"),
)


def to_coral(text: str) -> str:
    for drawnui, coral in _TO_CORAL:
        text = text.replace(drawnui, coral)
    return text


SIZES = (100, 80)
DRAWNUI = Format(
    "drawnui run",
    lambda p: get_task("drawnui").parse_run(p, ImageSet(dict.fromkeys(["a.jpg", "b.jpg"], SIZES))),
    lines(DRAWNUI_OK, "b.jpg"),
    GROUPED_BOX_CASES,
)
CORAL_BOXES = Format(
    "coral boxes run",
    lambda p: get_task("coral_boxes").parse_run(p, ImageSet(dict.fromkeys(["img1", "img2"], SIZES))),
    to_coral(DRAWNUI.valid),
    [(to_coral(text), n, to_coral(m)) for text, n, m in GROUPED_BOX_CASES],
)
POLYGON_OK = "img1;c_sponge 0.5:1+1+5+1+5+5"
# Coral subtask 2 runs accept (with a FormatWarning) what the organisers' pixel_accuracy.py accepts: negative or
# off-image vertices, polygons of 1-2 vertices, an odd value count, unknown classes and images, repeated lines
# and groups, a missing image (tests/test_grouped_runfile.py::test_coral_polygon_run_accepts_what_the_organisers_
# accept). What it crashes on (or needs for the mAP: a confidence) stays an error:
CORAL_POLYGONS = Format(
    "coral polygons run",
    lambda p: get_task("coral_polygons").parse_run(p, ImageSet(dict.fromkeys(["img1", "img2"], SIZES))),
    lines(POLYGON_OK, "img2"),
    [
        (lines(POLYGON_OK, line), n, m)
        for line, n, m in [
            ("img2;c_sponge 0.5:1+1+5+", 2, "not an integer"),  # truncated: int('') fails in the official reader
            ("img2;c_sponge 0.5:1 1 5 1 5 5", 2, "an even count of values"),
            ("img2;c_sponge 0.5:5", 2, "an even count of values"),
            ("img2;c_sponge 0.5:", 2, "an even count of values"),
            ("img2;c_sponge 0.5:1+1+5.5+1+5+5", 2, "not an integer"),
            ("img2;c_sponge 0.5:1+1+5+1+5+--5", 2, "not an integer"),
            ("img2;c_sponge 0.5:1+1+5+1+5+²", 2, "not an integer"),
            (f"img2;c_sponge 0.5:1+1+5+1+5+{HUGE}", 2, "9 digits at most"),
            ("img2;c_sponge 1+1+5+1+5+5", 2, "has no confidence"),
            ("img2;c_sponge high:1+1+5+1+5+5", 2, "is not a number"),
            ("img2;c_sponge nan:1+1+5+1+5+5", 2, "finite"),
            ("img2;c_sponge 2:1+1+5+1+5+5", 2, "in [0, 1]"),
            ("img2;c_sponge 0.5:1+1+5+1+5+5,", 2, "empty region"),
            ("img2;c_sponge 0.5:1+1+5+1+5+5\t", 2, "extra whitespace"),
            ("img2;c_sponge  0.5:1+1+5+1+5+5", 2, "extra whitespace"),
            ("img2;c_sponge0.5:1+1+5+1+5+5", 2, "one space"),
            ("img2;;c_sponge 0.5:1+1+5+1+5+5", 2, "field 2 is empty"),
            ("img2;c_sponge 0.5:1+1+5+1+5+5;", 2, "field 3 is empty"),
        ]
    ]
    + [(lines("zzz;c_sponge 0.5:1+1+5+1+5+5", "img3"), None, "no line names a reference image (2 lines ignored)")],
)


# --- coral annotation files (official, space-separated) ---------------------------------------------------
def coral_annotation_cases(kind: str, ok: str) -> list[Case]:
    wrong_count = "img 0 c_sponge 1 1 2 3" if kind == "box" else "img 0 c_sponge 1 1"
    shared = [
        (wrong_count, "space-separated fields"),
        ("img 0 c_spong " + ok, "unknown substrate 'c_spong'"),
        ("img 0 C_SPONGE " + ok, "unknown substrate 'C_SPONGE'"),
        ("img 0 button " + ok, "unknown substrate 'button'"),
        ("img 0 c_spönge " + ok, "unknown substrate 'c_spönge'"),
        ("img 0 c_sponge " + ok.replace("2", "x"), "non-numeric coordinate"),
        ("img 0 c_sponge " + ok.replace("2", "0x10"), "non-numeric coordinate"),
        ("img 0 c_sponge " + ok.replace("2", "4;"), "non-numeric coordinate"),
        ("img 0 c_sponge " + ok.replace("2", "nan"), "finite"),
        ("img 0 c_sponge " + ok.replace("2", "NaN"), "finite"),
        ("img 0 c_sponge " + ok.replace("2", "inf"), "finite"),
        ("img 0 c_sponge " + ok.replace("2", "-inf"), "finite"),
        ("img 0 c_sponge " + ok.replace("2", "1e400"), "finite"),
        ("img 0 c_sponge " + ok.replace("2", HUGE), "finite"),
        ("img 0 c_spo", "3 space-separated fields"),  # truncated
        ("img", "1 space-separated fields"),
        ("img;0;c_sponge;" + ok.replace(" ", ";"), "1 space-separated fields"),
        ("img 0 c_sponge 1,1,2,3,4,5,6,7", "4 space-separated fields"),
    ]
    if kind == "box":
        shared += [("img 0 c_sponge 1 1 2 3 4 5", "9 space-separated fields")]
    else:
        shared += [("img 0 c_sponge 1 1 2 3 4 5", "odd number of polygon coordinates")]
    return [(lines("img1 0 c_sponge " + ok, line), 2, message) for line, message in shared]


BOX_OK, POLYGON_ANN_OK = "1 1 2 30 4", "1 1 1 5 2 5 5"
CORAL_BOX_ANNOTATIONS = Format(
    "coral box annotations",
    lambda p: parse_coral_annotations(p, "box")[0],
    lines("img1 0 c_sponge " + BOX_OK, "img2 0 c_soft_coral 1 10 40 30 20"),
    coral_annotation_cases("box", BOX_OK),
)
CORAL_POLYGON_ANNOTATIONS = Format(
    "coral polygon annotations",
    lambda p: parse_coral_annotations(p, "polygon")[0],
    lines("img1 0 c_sponge " + POLYGON_ANN_OK, "img2 0 c_soft_coral 1 10 40 30 40 30 60"),
    [
        *coral_annotation_cases("polygon", POLYGON_ANN_OK),
        (lines("img1 0 c_sponge 1 1 2 30 4", "img2 0 c_sponge 1 5 5 9 9"), None, "no usable region"),
    ],
)

# --- medical caption ---------------------------------------------------------------------------------------
ABC = CaptionReference(ids={"a", "b", "c"})
CONCEPTS_RUN = Format(
    "concepts run",
    lambda p: get_task("concepts").parse_run(p, ABC),
    lines("a\tC0000001;C0000002", "b\t", "c\tC0000003"),
    [
        (lines("a\tC0000001\tC0000002", "b\t", "c\tC0000003"), 1, "3 tab-separated fields"),
        (lines("a\tC0000001;C0000002", "b\t", "c\tC0000003\t"), 3, "3 tab-separated fields"),  # trailing separator
        (lines("a\tC0000001;C0000001", "b\t", "c\tC0000003"), 1, "duplicate concept(s) C0000001"),
        (lines("a\tC0000001;;C0000001", "b\t", "c\tC0000003"), 1, "duplicate concept(s) C0000001"),
        (lines("a\tC0000001;;C0000002;", "b\t", "c\tC0000003"), 1, "duplicate concept(s) ''"),  # two empty
        (lines("a", "b\t", "c\tC0000003"), 1, "no tab after the image id"),  # the official script crashes
        (lines("a\tC0000001", "", "b\t", "c\tC0000003"), 2, "blank or whitespace-only line"),
        (lines("a\tC0000001", "b\t", "c\tC0000003", "  "), 4, "blank or whitespace-only line"),
        (lines("a\tC0000001", "b\t", "c\tC0000003", "z\tC0000004"), 4, "unknown image 'z'"),
        (lines("a\tC0000001", "b\t", "c\tC0000003", "ä\tC0000004"), 4, "unknown image 'ä'"),
        (lines("a\tC0000001", "b\t", "c\tC0000003", "a\tC0000004"), 4, "duplicate image 'a' (first on line 1)"),
        (lines("a\tC0000001", "b\t"), None, "2 images in the run, 3 in the test set; missing: c"),
        (lines("a\tC0000001", "b\t", "c\tC0000003", "\tC0000004"), 4, "empty or has surrounding spaces"),
        (lines(" a\tC0000001", "b\t", "c\tC0000003"), 1, "empty or has surrounding spaces"),
        (lines("a \tC0000001", "b\t", "c\tC0000003"), 1, "empty or has surrounding spaces"),
        (lines("a\t" + ";".join(f"C{i:07d}" for i in range(1287)), "b\t", "c\tC0000003"), 1, "at most 1286"),
        (lines("a C0000001", "b\t", "c\tC0000003"), 1, "unknown image 'a C0000001'"),
        (lines("a,C0000001", "b\t", "c\tC0000003"), 1, "unknown image 'a,C0000001'"),
        (lines("a|C0000001", "b\t", "c\tC0000003"), 1, "unknown image 'a|C0000001'"),
        (lines("a\tC0000001", "b\t", "c\tC0000003", "a\tC0000001", "b\tC0000002"), 5, "duplicate image 'b'"),
        (lines("a\tC0000001", "b\t", "c\tC0000003", "b\tC0000002"), 4, "duplicate image 'b' (first on line 2)"),
    ],
    strict=True,
)
CONCEPTS_TRUTH = Format(
    "concepts ground truth",
    read_concepts,
    lines("a\tC0000001;C0000002", "b\t", "c\tC0000003"),
    [
        (lines("a\tC0000001\tC0000002", "b\tC0000002"), 1, "3 tab-separated fields"),
        (lines("a\tC0000001", "b\tC0000002\t"), 2, "3 tab-separated fields"),
        (lines("a\tC0000001", "\tC0000002"), 2, "empty image id"),
        (lines("a\tC0000001", "  \tC0000002"), 2, "empty image id"),
        (lines("a\tC0000001", "a\tC0000002"), 2, "duplicate image 'a' (first on line 1)"),
        (lines("a\tC0000001", " a \tC0000002"), 2, "duplicate image 'a'"),
        (lines("a\tC0000001", "b\tC0000002", "c\tC0000003", "b\tC0000002"), 4, "duplicate image 'b' (first on line 2)"),
        (lines("a\tC0000001", "b\tC0000002\tC0000003\tC0000004"), 2, "4 tab-separated fields"),
        (lines("ä\tC0000001", "ä\tC0000002"), 2, "duplicate image 'ä'"),
        (lines("a\tC0000001", "\u00a0\tC0000002"), 2, "empty image id"),
        (lines("a\tC0000001", "b\t\t"), 2, "3 tab-separated fields"),
        (lines("a\tC0000001", "\t\tC0000002"), 2, "3 tab-separated fields"),
        (lines("a\tC0000001", "b\tC0000002", "\tC0000003"), 3, "empty image id"),
        (lines("a\tC0000001", "b\tC0000002", "a\tC0000003"), 3, "(first on line 1)"),
        (
            lines("a\tC0000001", "b\tC0000002", "c\tC0000003", "d\tC0000004", "e\tC0000005\tx"),
            5,
            "3 tab-separated fields",
        ),
        (
            lines("a\tC0000001", "b\tC0000002", "c\tC0000003", "d\tC0000004", "e\tC0000005", "a\tC0000006"),
            6,
            "duplicate image 'a'",
        ),
        (lines("a\tC0000001", "b"), 2, "1 tab-separated fields"),
        (lines("a\tC0000001", "b C0000002"), 2, "1 tab-separated fields"),
        (lines("a\tC0000001", "b\tC1"), 2, "'C1' not UMLS CUIs"),
        (lines("a\tC0000001", "b\tC0000002;pneumonia"), 2, "'PNEUMONIA' not UMLS CUIs"),
        (lines("a\tC0000001", "b\tC00000021"), 2, "not UMLS CUIs"),
    ],
)
CAPTION_RUN = Format(
    "caption run",
    lambda p: get_task("caption").parse_run(p, ABC),
    lines("a\tan x-ray of the chest", "b\tct scan", "c\tmri of the knee"),
    [
        (lines("a\tx-ray\tchest", "b\tct", "c\tmri"), 1, "3 tab-separated fields"),
        (lines("a\tx-ray", "b\tct", "c\tmri\t"), 3, "3 tab-separated fields"),
        (lines("a\tx-ray", "b\tct", "c\tmri", "z\tmri"), 4, "unknown image 'z'"),
        (lines("a\tx-ray", "b\tct", "c\tmri", "ü\tmri"), 4, "unknown image 'ü'"),
        (lines("a\tx-ray", "b\tct", "c\tmri", "a\tmri"), 4, "duplicate image 'a' (first on line 1)"),
        (lines("a\tx-ray", "b\tct"), None, "missing: c"),
        (lines("a\tx-ray"), None, "missing: b, c"),
        (lines("a\tx-ray", "b\tct", "c\tmri", "\tmri"), 4, "empty or has surrounding spaces"),
        (lines(" a\tx-ray", "b\tct", "c\tmri"), 1, "empty or has surrounding spaces"),
        (lines("a\tx-ray", "b \tct", "c\tmri"), 2, "empty or has surrounding spaces"),
        (lines("a x-ray", "b\tct", "c\tmri"), 1, "unknown image 'a x-ray'"),
        (lines("a|x-ray", "b\tct", "c\tmri"), 1, "unknown image 'a|x-ray'"),
        (lines("a,x-ray", "b\tct", "c\tmri"), 1, "unknown image 'a,x-ray'"),
        (lines("a\tx-ray", "b\tct", "c\tmri", "a\tct", "b\tct"), 5, "duplicate image 'b'"),
        (lines("a\tx\ty\tz", "b\tct", "c\tmri"), 1, "4 tab-separated fields"),
        (lines("a\tC0000001;C0000002", "b\tC0000003", "c\t"), None, "looks like a concept-detection run"),
    ],
)

# --- VQA-Med -----------------------------------------------------------------------------------------------
S123 = VQAReference(order=["s1", "s2", "s3"])
VQA_RUN = Format(
    "vqa run",
    lambda p: get_task("vqa").parse_run(p, S123),
    lines("s1|yes", "s2|no", "s3|pneumonia"),
    [
        (lines("s1|yes|extra", "s2|no", "s3|x"), 1, "3 '|'-separated tokens"),
        (lines("s1|yes", "s2|no", "s3|x|"), 3, "3 '|'-separated tokens"),  # trailing separator
        (lines("s1 yes", "s2|no", "s3|x"), 1, "1 '|'-separated tokens"),
        (lines("s1\tyes", "s2|no", "s3|x"), 1, "1 '|'-separated tokens"),
        (lines("s1|yes", "", "s2|no", "s3|x"), 2, "blank or whitespace-only line"),
        (lines("s1|yes", "s2|no", "s3|x", " "), 4, "blank or whitespace-only line"),
        (lines("s1,yes", "s2|no", "s3|x"), 1, "1 '|'-separated tokens"),
        (lines("s1|yes", "s2|no", "s3"), 3, "1 '|'-separated tokens"),  # truncated
        (lines("s2|no", "s1|yes", "s3|x"), 1, "expected image 's1' on this line"),
        (lines("s1|yes", "s2|no", "s9|x"), 3, "expected image 's3'"),
        (lines("s1|yes", "s2|no", "sé|x"), 3, "got 'sé'"),
        (lines(" s1|yes", "s2|no", "s3|x"), 1, "got ' s1'"),
        (lines("s1|yes", "s2|  ", "s3|x"), 2, "empty answer"),
        (lines("s1|", "s2|no", "s3|x"), 1, "empty answer"),
        (lines("s1|yes", "s2|no", "s3|x", "s4|y"), 4, "more lines than the 3 test images"),
        (lines("s1|yes", "s2|no", "s3|x", "s3|x"), 4, "more lines than the 3 test images"),
        (lines("s1|yes", "s2|no"), None, "2 lines for 3 test images"),
        (lines("s1|yes"), None, "1 lines for 3 test images"),
        (lines("s1\ts1|yes", "s2|no", "s3|x"), 1, "expected image 's1'"),
        (lines("|yes", "s2|no", "s3|x"), 1, "expected image 's1'"),
    ],
    strict=True,
)
VQA_PIPE = Format(
    "vqa-med question-answer file",
    read_qa,
    lines("s1|what is abnormal?|pneumonia", "s2|is this normal?|yes"),
    [
        (lines("s1|what?|yes", "s2|what?"), 2, "2 '|'-separated fields"),
        (lines("s1|what?|yes", "s2|what?|yes|"), 2, "4 '|'-separated fields"),
        (lines("s1|what?|yes", "s2|what?|yes|no"), 2, "4 '|'-separated fields"),
        (lines("s1|what?|yes", "s2 what? yes"), 2, "1 '|'-separated fields"),
        (lines("s1|what?|yes", "s2\twhat?\tyes"), 2, "1 '|'-separated fields"),
        (lines("s1|what?|yes", "s2|what?|"), 2, "field(s) 3 empty"),
        (lines("s1|what?|yes", "s2||yes"), 2, "field(s) 2 empty"),
        (lines("s1|what?|yes", "|what?|yes"), 2, "field(s) 1 empty"),
        (lines("s1|what?|yes", "  |what?|yes"), 2, "field(s) 1 empty"),
        (lines("s1|what?|yes", "s2| |  "), 2, "field(s) 2, 3 empty"),
        (lines("s1|what?|yes", "s2|wh"), 2, "2 '|'-separated fields"),  # truncated
        (lines("s1|what?|yes", "s2|what|is|it|yes"), 2, "5 '|'-separated fields"),
        (lines("s1|what?|yes", "s2,what?,yes"), 2, "1 '|'-separated fields"),
        (lines("s1|what?|yes", "sé"), 2, "1 '|'-separated fields"),
        (lines("s1|what?|yes", "s2|what?|yes", "s3|"), 3, "2 '|'-separated fields"),
        (lines("s1|what?|yes", "s2|what?|yes", "|"), 3, "2 '|'-separated fields"),
    ],
)
VQA_ANSWERS = Format(
    "vqa-med reference answers",
    read_answers,
    lines("s1|pneumonia", "s2|yes"),
    [
        (lines("s1|yes", "s1|no"), 2, "duplicate image 's1' (first on line 1)"),
        (lines("s1|yes", " s1 |no"), 2, "duplicate image 's1'"),
        (lines("s1|yes", "s2|no", "s3|x", "s2|no"), 4, "duplicate image 's2' (first on line 2)"),
        (lines("s1|yes", "s2|"), 2, "field(s) 2 empty"),
        (lines("s1|yes", "s2|   "), 2, "field(s) 2 empty"),
        (lines("s1|yes", "|no"), 2, "field(s) 1 empty"),
        (lines("s1|yes", "s2|no|"), 2, "field(s) 3 empty"),
        (lines("s1|what is seen?|cyst", "s2|cyst|abscess"), None, "cannot tell QA pairs"),
        (lines("s1|yes", "s2"), 2, "no '|'"),
        (lines("s1|yes", "s2 no"), 2, "no '|'"),
        (lines("s1|yes", "s2\tno"), 2, "no '|'"),
        (lines("s1|yes", "s2,no"), 2, "no '|'"),
        (lines("s1|yes", "sé|no", "sé|yes"), 3, "duplicate image 'sé'"),
        (lines("s1|what?|yes", "s1|why?|no"), 2, "duplicate image 's1' (first on line 1)"),  # QA pairs
        (lines("s1|what is seen?", "s2|is it normal?"), None, "every answer is a question"),
        (lines("s1|yes", "||"), 2, "field(s) 1, 2, 3 empty"),
        (lines("s1|yes", "|"), 2, "field(s) 1, 2 empty"),
    ],
)
VQG_RUN = Format(
    "vqg run",
    lambda p: get_task("vqg").parse_run(p, S123),
    lines("s1|what is shown?|is it normal?", "s2|what organ is this?", "s3|q"),
    [
        (lines("s1", "s2|q", "s3|q"), 1, "expected '<image_id>|<question>"),
        (lines("s1 q", "s2|q", "s3|q"), 1, "expected '<image_id>|<question>"),
        (lines("s1\tq", "s2|q", "s3|q"), 1, "expected '<image_id>|<question>"),
        (lines("s1|q", "s2|q", "s3"), 3, "expected '<image_id>|<question>"),  # truncated
        (lines("s1|", "s2|q", "s3|q"), 1, "empty question"),
        (lines("s1| | ", "s2|q", "s3|q"), 1, "empty question"),
        (lines("s1|q", "", "s2|q", "s3|q"), 2, "blank or whitespace-only line"),
        (lines("s1|q", "s2|q", "s3|q", "\t"), 4, "blank or whitespace-only line"),
        (lines("s1|q", "s1|q", "s2|q", "s3|q"), 2, "duplicate image 's1'"),
        (lines("s1|q", "s2|q", "s3|q", "s3|r"), 4, "duplicate image 's3'"),
        (lines("s1|q", "s2|q", "s3|q", "s9|q"), 4, "unknown image 's9'"),
        (lines("s1|q", "s2|q", "s3|q", "sé|q"), 4, "unknown image 'sé'"),
        (lines("s1|q", "s2|q", "s3|q", "|q"), 4, "unknown image ''"),
        (lines("s1|q", "s2|q", "s3|q", " s1|q"), 4, "unknown image ' s1'"),
        (lines("s1|q", "s2|q"), None, "1 test images have no line: s3"),
        (lines("s1|q"), None, "2 test images have no line: s2, s3"),
    ],
    strict=True,
)
VQG_TRUTH = Format(
    "vqg reference questions",
    read_reference_questions,
    lines("s1|what is shown?|is it normal?", "s2|what organ is this?"),
    [
        (lines("s1|q", "s2"), 2, "expected 'image_id|question"),
        (lines("s1|q", "s2 q"), 2, "expected 'image_id|question"),
        (lines("s1|q", "s2\tq"), 2, "expected 'image_id|question"),
        (lines("s1|q", "s2,q"), 2, "expected 'image_id|question"),
        (lines("s1|q", "|q"), 2, "expected 'image_id|question"),
        (lines("s1|q", "  |q"), 2, "expected 'image_id|question"),
        (lines("s1|q", "sé"), 2, "expected 'image_id|question"),
        (lines("s1|q", "s2|q", "s3"), 3, "expected 'image_id|question"),
        (lines("s1|q", "s2|q", "|"), 3, "expected 'image_id|question"),
        (lines("s1|q", "s2|"), 2, "no question"),
        (lines("s1|q", "s2|  |"), 2, "no question"),
        (lines("s1|q", "s2|||"), 2, "no question"),
        (lines("s1|q", "s2|q", "s3||"), 3, "no question"),
        (lines("s1|q", "s2|q", "s3| "), 3, "no question"),
        (lines("|", "s2|q"), 1, "expected 'image_id|question"),
        (lines("s1", "s2", "s3|q"), 1, "expected 'image_id|question"),
    ],
)
VQG_TRAINING = Format(
    "vqg training questions",
    read_generated_questions,
    lines("s1|what is shown?|is it normal?", "s2|what organ is this?"),
    [
        (lines("s1|q", "s2"), 2, "expected 'image_id|question"),
        (lines("s1|q", "s2 q"), 2, "expected 'image_id|question"),
        (lines("s1|q", "s2\tq"), 2, "expected 'image_id|question"),
        (lines("s1|q", "s2,q"), 2, "expected 'image_id|question"),
        (lines("s1|q", "|q"), 2, "expected 'image_id|question"),
        (lines("s1|q", "  |q"), 2, "expected 'image_id|question"),
        (lines("s1|q", "sé"), 2, "expected 'image_id|question"),
        (lines("s1|q", "s2|q", "s3"), 3, "expected 'image_id|question"),
        (lines("s1|q", "s2|q", "|"), 3, "expected 'image_id|question"),
        (lines("s1|q", "s2|"), 2, "no question"),
        (lines("s1|q", "s2|  |"), 2, "no question"),
        (lines("s1|q", "s2|||"), 2, "no question"),
        (lines("s1|q", "s2|q", "s3||"), 3, "no question"),
        (lines("s1|q", "s2|q", "s3| "), 3, "no question"),
        (lines("|", "s2|q"), 1, "expected 'image_id|question"),
        (lines("s1", "s2", "s3|q"), 1, "expected 'image_id|question"),
    ],
)

# --- tuberculosis ------------------------------------------------------------------------------------------
AB = CTReference(ids={"A.nii.gz", "B.nii.gz"})
TB_A = "A.nii.gz,0.1,0.2,0.3,0.4,0.5,0.6"
TB_B = "B.nii.gz,1,0,1,0,1,0"
TBCT_RUN = Format(
    "tbct run",
    lambda p: get_task("tbct").parse_run(p, AB),
    lines(TB_A, TB_B),
    [
        (lines("A.nii.gz,0.1,0.2,0.3,0.4,0.5", TB_B), 1, "6 comma-separated values"),
        (lines(TB_A + ",0.7", TB_B), 1, "8 comma-separated values"),
        (lines(TB_A + ",", TB_B), 1, "8 comma-separated values"),  # trailing separator
        (lines(TB_A.replace(",", ";"), TB_B), 1, "1 comma-separated values"),
        (lines(TB_A.replace(",", "\t"), TB_B), 1, "1 comma-separated values"),
        (lines(TB_A, "B.nii.gz,1,0,1"), 2, "4 comma-separated values"),  # truncated
        (lines(TB_A.replace("0.2", "x"), TB_B), 1, "RightLungAffected: 'x' is not a number"),
        (lines(TB_A.replace("0.2", ""), TB_B), 1, "RightLungAffected: '' is not a number"),
        (lines(TB_A.replace("0.2", "0,2"), TB_B), 1, "8 comma-separated values"),
        (lines(TB_A.replace("0.2", "1.5"), TB_B), 1, "must be a probability in [0, 1]"),
        (lines(TB_A.replace("0.2", "-0.1"), TB_B), 1, "must be a probability in [0, 1]"),
        (lines(TB_A.replace("0.2", "nan"), TB_B), 1, "must be a probability in [0, 1]"),
        (lines(TB_A.replace("0.2", "inf"), TB_B), 1, "must be a probability in [0, 1]"),
        (lines(TB_A.replace("0.2", "1e400"), TB_B), 1, "must be a probability in [0, 1]"),
        (lines(TB_A.replace("0.2", HUGE), TB_B), 1, "must be a probability in [0, 1]"),
        (lines(TB_A, TB_B, TB_A), 3, "duplicate CT 'A.nii.gz' (first on line 1)"),
        (lines(TB_A, TB_B, TB_B.replace("B", "C")), 3, "unknown CT 'C.nii.gz'"),
        (lines(TB_A, TB_B, TB_B.replace("B", "É")), 3, "unknown CT 'É.nii.gz'"),
        (lines(TB_A), None, "1 CTs of the test set have no line: B.nii.gz"),
        (lines(TB_A, TB_B.replace("B.nii.gz", "B")), None, "no line: B.nii.gz"),
        # read as the organisers' evaluator reads it (tests/conformance/tbct): ids as written, no header,
        # no blank line, no byte-order mark
        (lines(" " + TB_A, TB_B), 1, "CT ' A.nii.gz' has spaces around it"),
        (lines(TB_A, TB_B.replace("B.nii.gz", "B.nii.gz ")), 2, "has spaces around it"),
        (lines("filename," + ",".join(LABELS), TB_A, TB_B), 1, "a header row"),
        (lines("Filename," + ",".join(LABELS), TB_A, TB_B), 1, "a header row"),
        (lines(TB_A, "", TB_B), 2, "blank or whitespace-only line"),
        (lines(TB_A, TB_B, " "), 3, "blank or whitespace-only line"),
        ("\ufeff" + lines(TB_A, TB_B), 1, "byte-order mark"),
    ],
    strict=True,
)
TB_HEADER = "Filename," + ",".join(LABELS)  # as released (tests/fixtures/real/tuberculosis)
TBCT_LABELS = Format(
    "tbct labels",
    read_labels,
    lines(TB_HEADER, "A.nii.gz,1,0,0,0,0,1", "B.nii.gz,0,0,0,0,0,0"),
    [
        (lines(TB_HEADER, "A.nii.gz,1,0,0,0,0,2"), 2, "label values must be 0 or 1"),
        (lines(TB_HEADER, "A.nii.gz,1,0,0,0,0,0.5"), 2, "label values must be 0 or 1"),
        (lines(TB_HEADER, "A.nii.gz,1,0,0,0,0,nan"), 2, "label values must be 0 or 1"),
        (lines(TB_HEADER, "A.nii.gz,1,0,0,0,0,true"), 2, "label values must be 0 or 1"),
        (lines(TB_HEADER, "A.nii.gz,1,0,0,0,0,"), 2, "empty value in column(s) PleurisyRight"),
        (lines(TB_HEADER, "A.nii.gz,1,0,0,0,0,0,"), 2, "8 comma-separated values; the header has 7"),
        (lines(TB_HEADER, "A.nii.gz,1,0"), 2, "3 comma-separated values; the header has 7"),  # truncated
        (lines(TB_HEADER, "A.nii.gz;1;0;0;0;0;0"), 2, "1 comma-separated values"),
        (lines(TB_HEADER, ",1,0,0,0,0,0"), 2, "empty value in column(s) Filename"),
        (
            lines(TB_HEADER, "A.nii.gz,1,0,0,0,0,0", "A.nii.gz,0,0,0,0,0,0"),
            3,
            "duplicate CT 'A.nii.gz' (first on line 2)",
        ),
        (lines(TB_HEADER, '"A.nii.gz,1,0,0,0,0,0'), 2, "not a valid CSV row"),
        (lines(TB_HEADER, 'A.nii.gz,"1"x,0,0,0,0,0'), 2, "not a valid CSV row"),
        (lines("name,x", "A.nii.gz,1"), 1, "header lacks column(s) LeftLungAffected"),
        (lines("Patient," + ",".join(LABELS), "A.nii.gz,1,0,0,0,0,0"), 1, "the first column must be 'Filename'"),
        (lines(",".join(LABELS) + ",Filename", "1,0,0,0,0,0,A.nii.gz"), 1, "the first column must be 'Filename'"),
        (
            lines(TB_HEADER.replace("PleurisyRight", "PleurisyRigth"), "A.nii.gz,1,0,0,0,0,0"),
            1,
            "lacks column(s) PleurisyRight",
        ),
        (lines(TB_HEADER.lower(), "A.nii.gz,1,0,0,0,0,0"), 1, "header lacks column(s)"),
        (lines(TB_HEADER + ",Filename", "A.nii.gz,1,0,0,0,0,0,A"), 1, "header repeats column(s) Filename"),
        (lines("A.nii.gz,1,0,0,0,0,0"), 1, "header lacks column(s) LeftLungAffected"),
    ],
    suffix=".csv",
)

# --- lifelog -----------------------------------------------------------------------------------------------
LMRT_REFERENCE = LifelogReference(topics={"t1", "t2"}, images={"a", "b", "c"}, ground_truth=None)
LMRT_RUN = Format(
    "lmrt run",
    lambda p: get_task("lmrt").parse_run(p, LMRT_REFERENCE),
    lines("t1,a,0.9", "t1,b,0.5", "t2,b,0.5"),
    [
        (lines("t1,a", "t2,b,0.5"), 1, "2 comma-separated values"),
        (lines("t1,a,0.9,x", "t2,b,0.5"), 1, "4 comma-separated values"),
        (lines("t1,a,0.9,", "t2,b,0.5"), 1, "4 comma-separated values"),  # trailing separator
        (lines("t1;a;0.9", "t2,b,0.5"), 1, "1 comma-separated values"),
        (lines("t1\ta\t0.9", "t2,b,0.5"), 1, "1 comma-separated values"),
        (lines("t1,a,0.9", "t2,b,"), 2, "confidence '' is not a number"),  # truncated
        (lines("t9,a,0.9", "t1,a,0.9", "t2,b,0.5"), 1, "unknown topic 't9'"),
        (lines("té,a,0.9", "t1,a,0.9", "t2,b,0.5"), 1, "unknown topic 'té'"),
        (lines("t1,zz,0.9", "t1,a,0.9", "t2,b,0.5"), 1, "unknown image 'zz'"),
        (lines("t1,a,0.9", "t1,b,0.5", "t2,b,0.5", "t1,a,0.3"), 4, "already listed for topic 't1' on line 1"),
        (lines("t1,a,high", "t2,b,0.5"), 1, "is not a number"),
        (lines("t1,a,0,9", "t2,b,0.5"), 1, "4 comma-separated values"),
        (lines("t1,a,1.5", "t2,b,0.5"), 1, "must be in [0, 1]"),
        (lines("t1,a,-0.5", "t2,b,0.5"), 1, "must be in [0, 1]"),
        (lines("t1,a,nan", "t2,b,0.5"), 1, "must be in [0, 1]"),
        (lines("t1,a,inf", "t2,b,0.5"), 1, "must be in [0, 1]"),
        (lines("t1,a,1e400", "t2,b,0.5"), 1, "must be in [0, 1]"),
        (lines(f"t1,a,{HUGE}", "t2,b,0.5"), 1, "must be in [0, 1]"),
        (lines("t1,a,0.9"), None, "1 topics have no line: t2"),
        (lines("t1,a,0.9", ",b,0.5"), 2, "unknown topic ''"),
        # read as the organisers' evaluator reads it (tests/conformance/lmrt)
        (lines("topic_id,image_id,confidence", "t1,a,0.9", "t2,b,0.5"), 1, "unknown topic 'topic_id'"),
        (lines("t1,a,0.9", "", "t2,b,0.5"), 2, "blank or whitespace-only line"),
        (lines("t1,a,0.9", "t2,b,0.5", "  "), 3, "blank or whitespace-only line"),
        ("\ufeff" + lines("t1,a,0.9", "t2,b,0.5"), 1, "byte-order mark"),
        (lines("t1,a.jpg,0.9", "t2,b,0.5"), 1, "unknown image 'a.jpg'"),
    ],
    suffix=".csv",
    strict=True,
)
META_HEADER = "image_id,timestamp,location,activity,concepts"
LIFELOG_METADATA = Format(
    "lifelog metadata",
    read_metadata,
    lines(META_HEADER, "a,2018-05-01T07:00:00,home,walking,dog;tree", "b,1525158060,work,,"),
    [
        (lines(META_HEADER, "a,yesterday,home,walking,dog"), 2, "timestamp 'yesterday' is neither"),
        (lines(META_HEADER, "a,nan,home,walking,dog"), 2, "timestamp 'nan' is neither"),
        (lines(META_HEADER, "a,inf,home,walking,dog"), 2, "timestamp 'inf' is neither"),
        (lines(META_HEADER, "a,1e400,home,walking,dog"), 2, "timestamp '1e400' is neither"),
        (lines(META_HEADER, "a,2018-13-01T07:00:00,home,walking,dog"), 2, "is neither"),
        (lines(META_HEADER, "a,,home,walking,dog"), 2, "empty value in column(s) timestamp"),
        (lines(META_HEADER, ",1525158060,home,walking,dog"), 2, "empty value in column(s) image_id"),
        (lines(META_HEADER, "a,1525158060,home"), 2, "3 comma-separated values; the header has 5"),  # truncated
        (lines(META_HEADER, "a,1525158060,home,walking,dog,"), 2, "6 comma-separated values"),
        (lines(META_HEADER, "a;1525158060;home;walking;dog"), 2, "1 comma-separated values"),
        (lines(META_HEADER, "a\t1525158060\thome\twalking\tdog"), 2, "1 comma-separated values"),
        (lines(META_HEADER, "a,1525158060,,,", "a,1525158061,,,"), 3, "duplicate image 'a' (first on line 2)"),
        (lines(META_HEADER, "é,1525158060,,,", "é,1525158061,,,"), 3, "duplicate image 'é'"),
        (lines(META_HEADER, 'a,1525158060,"home,walking,dog'), 2, "not a valid CSV row"),
        (lines(META_HEADER, 'a,1525158060,"ho"me,,'), 2, "not a valid CSV row"),
        (lines("id,time", "a,1525158060"), 1, "header lacks column(s) image_id, timestamp"),
        (lines("a,1525158060,home,walking,dog"), 1, "header lacks column(s) image_id, timestamp"),
        (lines(META_HEADER + ",image_id", "a,1,,,,a"), 1, "header repeats column(s) image_id"),
    ],
    suffix=".csv",
)
TOPICS_HEADER = "topic_id,title,description"
LIFELOG_TOPICS = Format(
    "lifelog topics (CSV)",
    read_topics,
    lines(TOPICS_HEADER, "t1,walking the dog,find the moments", "t2,eating,"),
    [
        (lines(TOPICS_HEADER, "t1,walking,x", "t1,eating,y"), 3, "duplicate topic 't1'"),
        (lines(TOPICS_HEADER, "té,walking,x", "té,eating,y"), 3, "duplicate topic 'té'"),
        (lines(TOPICS_HEADER, "t1,,x"), 2, "empty value in column(s) title"),
        (lines(TOPICS_HEADER, ",walking,x"), 2, "empty value in column(s) topic_id"),
        (lines(TOPICS_HEADER, " , ,x"), 2, "empty value in column(s) topic_id, title"),
        (lines(TOPICS_HEADER, "t1,walking"), 2, "2 comma-separated values; the header has 3"),  # truncated
        (lines(TOPICS_HEADER, "t1,walking,the,dog"), 2, "4 comma-separated values"),
        (lines(TOPICS_HEADER, "t1,walking,x,"), 2, "4 comma-separated values"),
        (lines(TOPICS_HEADER, "t1;walking;x"), 2, "1 comma-separated values"),
        (lines(TOPICS_HEADER, "t1\twalking\tx"), 2, "1 comma-separated values"),
        (lines(TOPICS_HEADER, 't1,"walking, the dog,x'), 2, "not a valid CSV row"),
        (lines(TOPICS_HEADER, 't1,"walk"ing,x'), 2, "not a valid CSV row"),
        (lines("id,title", "t1,walking"), 1, "header lacks column(s) topic_id"),
        (lines("topic_id,name", "t1,walking"), 1, "header lacks column(s) title"),
        (lines("t1,walking the dog,x"), 1, "header lacks column(s) topic_id, title"),
        (lines(TOPICS_HEADER + ",title", "t1,a,b,c"), 1, "header repeats column(s) title"),
    ],
    suffix=".csv",
)


def xml(*topics: str) -> str:
    return "<topics>\n" + "".join(f"  <topic>{t}</topic>\n" for t in topics) + "</topics>\n"


LIFELOG_TOPICS_XML = Format(
    "lifelog topics (XML)",
    read_topics,
    xml("<id>t1</id><title>walking the dog</title><description>x</description>", "<id>t2</id><title>eating</title>"),
    [
        (xml("<id>t1</id><title>a</title>", "<id>t1</id><title>b</title>"), 3, "duplicate topic 't1'"),
        (xml("<id>t1</id><title>a</title>", "<title>b</title>"), 3, "needs non-empty <id> and <title>"),
        (xml("<id>t1</id><title>a</title>", "<id>t2</id>"), 3, "needs non-empty <id> and <title>"),
        (xml("<id>t1</id><title>a</title>", "<id> </id><title>b</title>"), 3, "needs non-empty <id>"),
        (xml("<id>t1</id><title>a</title>", "<id>t2</id><title></title>"), 3, "needs non-empty"),
        (
            xml("<id>t1</id><title>a</title>", "<ID>t2</ID><TITLE>b</TITLE>", "<id>t2</id><title>c</title>"),
            4,
            "duplicate",
        ),
        (xml("<id>t1</id><title>a</title>", "<id>t2</id><title>b</titl>"), 3, "invalid XML: mismatched tag"),
        (xml("<id>t1</id><title>a</title>", "<id>t2</id><title>b & c</title>"), 3, "invalid XML"),
        (xml("<id>t1</id><title>a</title>", "<id>t2</id><title>b</title"), 3, "invalid XML"),
        (xml("<id>t1</id><title>a</title>")[:-5], 3, "invalid XML"),  # truncated
        (xml("<id>t1</id><title>a</title>").replace("</topics>", ""), 4, "invalid XML: no element found"),
        ("<topics></topics>\n", None, "no <topic> element"),
        ("<topics><topic/></topics>\n", 1, "needs non-empty <id> and <title>"),
        ("<?xml version='1.0'?>\n<topics>\n</topics>\n", None, "no <topic> element"),
        ("not xml at all\n", 1, "invalid XML: syntax error"),
        (
            "<topics>\n<topic><id>t1</id><title>a</title></topic>\n</topics>\n<extra/>\n",
            4,
            "junk after document element",
        ),
    ],
    suffix=".xml",
)
LIFELOG_JUDGEMENTS = Format(
    "lifelog judgements",
    read_judgements,
    # as released: `topic, image_id, cluster`, no header (tests/fixtures/real/lifelog)
    lines("1, a.jpg, 1", "1, b.jpg, 2", "2, b.jpg, 1"),
    [
        (lines("1, a.jpg, 1", "1, a.jpg, 2"), 2, "image 'a.jpg' judged twice for topic '1' (first on line 1)"),
        (lines("é, á.jpg, 1", "é, á.jpg, 1"), 2, "judged twice"),
        (lines("1, a.jpg, 1", "1, b.jpg, "), 2, "empty cluster"),
        (lines("1, a.jpg, 1", "1, , 1"), 2, "empty image_id"),
        (lines("1, a.jpg, 1", ", b.jpg, 1"), 2, "empty topic"),
        (lines("1, a.jpg, 1", ", , "), 2, "empty topic, image_id, cluster"),
        (lines("1, a.jpg, 1", "1, b.jpg"), 2, "2 comma-separated values; expected 'topic, image_id, cluster'"),
        (lines("1, a.jpg, 1", "1, b.jpg, 1,"), 2, "4 comma-separated values"),
        (lines("1, a.jpg, 1", "1, b.jpg, 1, 0.5"), 2, "4 comma-separated values"),
        (lines("1, a.jpg, 1", "1 b.jpg 1"), 2, "1 comma-separated values"),
        (lines("1, a.jpg, 1", "1;b.jpg;1"), 2, "1 comma-separated values"),
        (lines("1, a.jpg, 1", "1, b.jpg, c1"), 2, "cluster 'c1' is not an integer"),
        (lines("1, a.jpg, 0.9", "1, b.jpg, 1"), 1, "cluster '0.9' is not an integer"),  # a run file
        (lines("1, a.jpg, 1", "1, b.jpg, 1.0"), 2, "cluster '1.0' is not an integer"),
        (lines("topic_id,image_id,cluster_id", "1, a.jpg, 1"), 1, "a header row? the released file has none"),
        (lines("topic, image, cluster", "1, a.jpg, 1"), 1, "a header row?"),
    ],
)
LIFELOG_CLUSTERS = Format(
    "lifelog clusters",
    read_clusters,
    lines("1, 1", "1, 2", "2, 1"),  # as released: `topic, cluster`, no header
    [
        (lines("1, 1", "1, 1"), 2, "cluster 1 of topic '1' listed twice (first on line 1)"),
        (lines("1, 1", "1, 01"), 2, "listed twice"),
        (lines("1, 1", "1, "), 2, "empty cluster"),
        (lines("1, 1", ", 2"), 2, "empty topic"),
        (lines("1, 1", "1"), 2, "1 comma-separated values; expected 'topic, cluster'"),
        (lines("1, 1", "1, 2,"), 2, "3 comma-separated values"),
        (lines("1, 1", "1, 2, kitchen"), 2, "3 comma-separated values"),
        (lines("1, 1", "1 2"), 2, "1 comma-separated values"),
        (lines("1, 1", "1, two"), 2, "cluster 'two' is not an integer"),
        (lines("1, 1", "1, 0.5"), 2, "cluster '0.5' is not an integer"),
        (lines("topic,cluster", "1, 1"), 1, "a header row? the released file has none"),
        (lines("1, 1", "1, 2", "1, 2"), 3, "first on line 2"),
        (lines("1, 1", "1;2"), 2, "1 comma-separated values"),
        (lines("1, 1", "1\t2"), 2, "1 comma-separated values"),
    ],
)
SPLL_RUN = Format(
    "spll run",
    lambda p: get_task("spll").parse_run(p, ParticipantReference({"p1", "p2"})),
    lines("p1,0.5", "p2,-1.25"),
    [
        (lines("p1,0.5,1", "p2,0.1"), 1, "3 values"),
        (lines("p1,0.5,", "p2,0.1"), 1, "3 values"),  # trailing separator
        (lines("p1;0.5", "p2,0.1"), 1, "1 values"),
        (lines("p1\t0.5", "p2,0.1"), 1, "1 values"),
        (lines("p1 0.5", "p2,0.1"), 1, "1 values"),
        (lines("p1,0.5", "p2"), 2, "1 values"),  # truncated
        (lines("p1,0.5", "p2,"), 2, "prediction '' is not a number"),
        (lines("p1,fast", "p2,0.1"), 1, "is not a number"),
        (lines("p1,0,5", "p2,0.1"), 1, "3 values"),
        (lines("p1,1.2.3", "p2,0.1"), 1, "is not a number"),
        (lines("p1,nan", "p2,0.1"), 1, "must be finite"),
        (lines("p1,inf", "p2,0.1"), 1, "must be finite"),
        (lines("p1,-inf", "p2,0.1"), 1, "must be finite"),
        (lines("p1,1e400", "p2,0.1"), 1, "must be finite"),
        (lines(f"p1,{HUGE}", "p2,0.1"), 1, "must be finite"),
        (lines("p1,0.5", "p1,0.6", "p2,0.1"), 2, "duplicate participant 'p1'"),
        (lines("p1,0.5", "p2,0.1", "p9,0.1"), 3, "unknown participant 'p9'"),
        (lines("p1,0.5", "p2,0.1", "pé,0.1"), 3, "unknown participant 'pé'"),
        (lines("p1,0.5"), None, "1 participants have no line: p2"),
        (lines("p1,0.5", ",0.1"), 2, "unknown participant ''"),
    ],
    suffix=".csv",
)
TABLE_HEADER = "participant,speed_before,steps"
SPLL_TABLE = Format(
    "spll feature table",
    read_table,
    lines(TABLE_HEADER, "p1,10.5,8000", "p2,9.75,12000"),
    [
        (lines(TABLE_HEADER, "p1,fast,8000"), 2, "speed_before: 'fast' is not a number"),
        (lines(TABLE_HEADER, "p1,10.5,"), 2, "steps: '' is not a number"),
        (lines(TABLE_HEADER, "p1,nan,8000"), 2, "speed_before: 'nan' must be a finite float32 number"),
        (lines(TABLE_HEADER, "p1,inf,8000"), 2, "must be a finite float32 number"),
        (lines(TABLE_HEADER, "p1,-inf,8000"), 2, "must be a finite float32 number"),
        (lines(TABLE_HEADER, "p1,1e400,8000"), 2, "must be a finite float32 number"),
        (lines(TABLE_HEADER, "p1,1e39,8000"), 2, "must be a finite float32 number"),
        (lines(TABLE_HEADER, f"p1,{HUGE},8000"), 2, "must be a finite float32 number"),
        (lines(TABLE_HEADER, "p1,10.5"), 2, "2 comma-separated values; the header has 3"),  # truncated
        (lines(TABLE_HEADER, "p1,10.5,8000,"), 2, "4 comma-separated values"),
        (lines(TABLE_HEADER, "p1,10,5,8000"), 2, "4 comma-separated values"),
        (lines(TABLE_HEADER, "p1;10.5;8000"), 2, "1 comma-separated values"),
        (lines(TABLE_HEADER, ",10.5,8000"), 2, "empty id"),
        (lines(TABLE_HEADER, "p1,1,2", "p1,3,4"), 3, "duplicate id 'p1' (first on line 2)"),
        (lines(TABLE_HEADER, "pé,1,2", "pé,3,4"), 3, "duplicate id 'pé'"),
        (lines("participant", "p1"), 1, "expected an id column and value columns"),
        (lines(TABLE_HEADER + ",steps", "p1,1,2,3"), 1, "header repeats column(s) steps"),
    ],
    suffix=".csv",
)

FORMATS = [
    DRAWNUI,
    CORAL_BOXES,
    CORAL_POLYGONS,
    CORAL_BOX_ANNOTATIONS,
    CORAL_POLYGON_ANNOTATIONS,
    CONCEPTS_RUN,
    CONCEPTS_TRUTH,
    CAPTION_RUN,
    VQA_RUN,
    VQA_PIPE,
    VQA_ANSWERS,
    VQG_RUN,
    VQG_TRUTH,
    VQG_TRAINING,
    TBCT_RUN,
    TBCT_LABELS,
    LMRT_RUN,
    LIFELOG_METADATA,
    LIFELOG_TOPICS,
    LIFELOG_TOPICS_XML,
    LIFELOG_JUDGEMENTS,
    LIFELOG_CLUSTERS,
    SPLL_RUN,
    SPLL_TABLE,
]


def generic_cases(form: Format) -> list[tuple[str, bytes | None, int | None, str]]:
    """(case id, file bytes or None for no file, line, message) that every format must reject."""
    first, second, *rest = form.valid.encode().split(b"\n")
    return [
        ("empty file", b"", None, "empty file"),
        ("blank lines only", b"\n  \n\t\r\n", None, "empty file"),
        ("invalid UTF-8", b"\n".join([first, second + b"\xff\xfe", *rest]), 2, "not valid UTF-8"),
        ("NUL byte", b"\n".join([first, second + b"\x00", *rest]), 2, "NUL byte"),
        ("binary file", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)), 1, ""),
        ("missing file", None, None, "file not found"),
        ("UTF-16 file", form.valid.encode("utf-16"), None, "save the file as UTF-8"),
    ]


def _parse_bytes(form: Format, tmp_path: Path, data: bytes | None) -> tuple[Path, Any]:
    path = tmp_path / f"input{form.suffix}"
    if data is not None:
        path.write_bytes(data)
    return path, form.parse(path)


def _assert_reported(info: pytest.ExceptionInfo[FormatError], path: Path, line: int | None, message: str) -> None:
    problems = info.value.problems
    assert all(p.path == str(path) for p in problems), str(info.value)
    assert any(p.line == line and message in p.message for p in problems), str(info.value)


SPECIFIC = [(form, case) for form in FORMATS for case in form.cases]


@pytest.mark.parametrize(
    ("form", "case"), SPECIFIC, ids=[f"{form.name}: {case[2] or 'error'}" for form, case in SPECIFIC]
)
def test_format_specific_bad_input(tmp_path: Path, form: Format, case: Case) -> None:
    text, line, message = case
    with pytest.raises(FormatError) as info:
        _parse_bytes(form, tmp_path, text.encode())
    _assert_reported(info, tmp_path / f"input{form.suffix}", line, message)


GENERIC = [(form, case) for form in FORMATS for case in generic_cases(form)]


@pytest.mark.parametrize(("form", "case"), GENERIC, ids=[f"{form.name}: {case[0]}" for form, case in GENERIC])
def test_generic_bad_input(tmp_path: Path, form: Format, case: tuple[str, bytes | None, int | None, str]) -> None:
    _, data, line, message = case
    with pytest.raises(FormatError) as info:
        _parse_bytes(form, tmp_path, data)
    _assert_reported(info, tmp_path / f"input{form.suffix}", line, message)


# (format, other format whose valid file it accepts): pairs that share a grammar, where no validator can tell
SAME_GRAMMAR = {
    # a ground-truth concept file is a perfect concept run, and the other way round
    (CONCEPTS_RUN.name, CONCEPTS_TRUTH.name),
    (CONCEPTS_TRUTH.name, CONCEPTS_RUN.name),
    # the official concept evaluator takes any text for concepts (the project warns: no CUI-like concept)
    (CONCEPTS_RUN.name, CAPTION_RUN.name),
    # `image_id|text|...`: an answer cannot be told from a question
    (VQA_ANSWERS.name, VQA_RUN.name),
    # a QA-pairs file is the ground truth of its split; `id|q1|q2` + `id|q` reads as answers with an alternative
    (VQA_ANSWERS.name, VQA_PIPE.name),
    (VQA_ANSWERS.name, VQG_RUN.name),
    (VQG_RUN.name, VQA_RUN.name),
    *[
        (questions, other)
        for questions in (VQG_TRUTH.name, VQG_TRAINING.name)
        for other in (VQA_RUN.name, VQA_PIPE.name, VQA_ANSWERS.name, VQG_RUN.name)
    ],
    (VQG_TRUTH.name, VQG_TRAINING.name),
    (VQG_TRAINING.name, VQG_TRUTH.name),
    # a 0/1 label table with a header row is a numeric feature table
    (SPLL_TABLE.name, TBCT_LABELS.name),
}
WRONG = [
    (form, other)
    for form in FORMATS
    for other in FORMATS
    if other is not form and (form.name, other.name) not in SAME_GRAMMAR
]


@pytest.mark.parametrize(("form", "other"), WRONG, ids=[f"{f.name} <- {o.name}" for f, o in WRONG])
def test_the_wrong_tasks_file_is_a_format_error(tmp_path: Path, form: Format, other: Format) -> None:
    with pytest.raises(FormatError) as info:
        _parse_bytes(form, tmp_path, other.valid.encode())
    path = tmp_path / f"input{form.suffix}"
    assert all(p.path == str(path) for p in info.value.problems), str(info.value)


def _plain(value: Any) -> Any:
    """Parsed results with numpy arrays and dataclasses made comparable with ==."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


VARIANTS: dict[str, Callable[[str], bytes]] = {
    "BOM": lambda text: b"\xef\xbb\xbf" + text.encode(),
    "CRLF": lambda text: text.replace("\n", "\r\n").encode(),
    "BOM and CRLF": lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(),
    "no final newline": lambda text: text.rstrip("\n").encode(),
    "trailing blank lines": lambda text: (text + "\n \n\n").encode(),
}


# what the official evaluators of the strict run files reject (the line, words of the message)
STRICT_REJECTED: dict[str, Callable[[str], tuple[int, str]]] = {
    "BOM": lambda text: (1, "byte-order mark"),
    "BOM and CRLF": lambda text: (1, "byte-order mark"),
    "trailing blank lines": lambda text: (text.count("\n") + 1, "blank or whitespace-only line"),
}
ACCEPTED = [
    (form, variant) for form in FORMATS for variant in VARIANTS if not (form.strict and variant in STRICT_REJECTED)
]
REJECTED = [(form, variant) for form in FORMATS if form.strict for variant in STRICT_REJECTED]


@pytest.mark.parametrize(("form", "variant"), ACCEPTED, ids=[f"{f.name}-{v}" for f, v in ACCEPTED])
def test_accepted_variants_parse_like_the_plain_file(tmp_path: Path, form: Format, variant: str) -> None:
    _, plain = _parse_bytes(form, tmp_path, form.valid.encode())
    assert plain, f"{form.name}: the valid file parses to nothing"
    _, changed = _parse_bytes(form, tmp_path, VARIANTS[variant](form.valid))
    assert _plain(changed) == _plain(plain)


@pytest.mark.parametrize(("form", "variant"), REJECTED, ids=[f"{f.name}-{v}" for f, v in REJECTED])
def test_strict_run_files_reject_what_the_official_evaluator_rejects(
    tmp_path: Path, form: Format, variant: str
) -> None:
    line, message = STRICT_REJECTED[variant](form.valid)
    with pytest.raises(FormatError) as info:
        _parse_bytes(form, tmp_path, VARIANTS[variant](form.valid))
    _assert_reported(info, tmp_path / f"input{form.suffix}", line, message)


def test_same_grammar_pairs_really_parse(tmp_path: Path) -> None:
    # the exclusions above are exactly the pairs that cannot be told apart, not a way to hide failures
    by_name = {form.name: form for form in FORMATS}
    for name, other in sorted(SAME_GRAMMAR):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FormatWarning)
            _parse_bytes(by_name[name], tmp_path, by_name[other].valid.encode())
        if (name, other) == (CONCEPTS_RUN.name, CAPTION_RUN.name):  # accepted, as the official does, with a warning
            assert any("no concept looks like a UMLS CUI" in str(w.message) for w in caught), caught


@pytest.mark.parametrize("form", FORMATS, ids=[f.name for f in FORMATS])
def test_every_format_has_at_least_20_bad_cases_of_its_own(form: Format) -> None:
    # the wrong-task cases come on top of these
    assert len(form.cases) + len(generic_cases(form)) >= 20
