"""ImageCLEF 2020 tuberculosis CT report conformance cases.

Files per case: gt.csv (header `filename,LeftLungAffected,RightLungAffected,CavernsLeft,CavernsRight,
PleurisyLeft,PleurisyRight`, then one 0/1 row per CT; the 2020 test labels are not public, this is the
layout of the project's reader) and run.csv (`CTR_TST_001.nii.gz,p1,...,p6`, no header).
"""

HEADER = "filename,LeftLungAffected,RightLungAffected,CavernsLeft,CavernsRight,PleurisyLeft,PleurisyRight\n"
IDS = [f"CTR_TST_{n:03d}.nii.gz" for n in range(1, 7)]
# labels per CT: every column has both classes
LABELS = [
    [1, 1, 0, 1, 0, 1],
    [1, 0, 1, 0, 1, 0],
    [0, 1, 0, 0, 0, 1],
    [1, 1, 1, 1, 0, 0],
    [0, 0, 0, 1, 1, 0],
    [1, 0, 1, 0, 0, 1],
]


def gt(labels=LABELS, ids=IDS):
    return HEADER + "".join(f"{i}," + ",".join(map(str, row)) + "\n" for i, row in zip(ids, labels, strict=True))


def run(rows, ids=IDS):
    return "".join(f"{i}," + ",".join(rows_i) + "\n" for i, rows_i in zip(ids, rows, strict=True))


def fmt(table):
    return [[f"{v:g}" if isinstance(v, float) else str(v) for v in row] for row in table]


PERFECT = fmt([[0.9 if v else 0.1 for v in row] for row in LABELS])
# partially right: fixed probabilities giving AUCs strictly between 0 and 1
PARTIAL = fmt(
    [
        [0.8, 0.6, 0.3, 0.7, 0.4, 0.9],
        [0.7, 0.5, 0.6, 0.2, 0.35, 0.3],
        [0.75, 0.55, 0.2, 0.4, 0.3, 0.6],
        [0.6, 0.7, 0.7, 0.5, 0.45, 0.7],
        [0.2, 0.65, 0.4, 0.6, 0.5, 0.2],
        [0.9, 0.3, 0.8, 0.3, 0.1, 0.65],
    ]
)

CASES = []


def case(name, note, run_text, gt_text=None):
    CASES.append((name, {"gt.csv": gt_text or gt(), "run.csv": run_text}, note))


case("perfect", "every label ranked perfectly: AUC 1 for all six", run(PERFECT))
case("partial", "AUCs strictly between 0 and 1", run(PARTIAL))
case(
    "inverted",
    "every label ranked exactly backwards: AUC 0",
    run(fmt([[0.1 if v else 0.9 for v in row] for row in LABELS])),
)
case("all_ties", "the same probability 0.5 everywhere: AUC 0.5", run([["0.5"] * 6 for _ in IDS]))
SINGLE = [[*row[:5], 0] for row in LABELS]
case(
    "single_class_label",
    "PleurisyRight is 0 for every CT in the ground truth: its AUC is undefined",
    run(PARTIAL),
    gt(SINGLE),
)
case("leading_space_id", "the first CT id has a leading space", run(PARTIAL).replace("CTR_TST_001", " CTR_TST_001", 1))
case("leading_space_value", "a probability has a leading space (' 0.8')", run(PARTIAL).replace(",0.8,", ", 0.8,", 1))
case(
    "scientific_notation",
    "probabilities written as 1e-1 / 9e-1",
    run(PARTIAL).replace("0.1", "1e-1").replace("0.9", "9e-1"),
)
case("probability_above_1", "a probability of 1.5", run(PARTIAL).replace("0.8", "1.5", 1))
case("negative_probability", "a probability of -0.1", run(PARTIAL).replace("0.8", "-0.1", 1))
case("non_numeric", "a probability 'high'", run(PARTIAL).replace("0.8", "high", 1))
case("nan_probability", "a probability 'nan'", run(PARTIAL).replace("0.8", "nan", 1))
case(
    "duplicate_ct",
    "the first CT listed twice (and the last missing)",
    run([*PARTIAL[:5], PARTIAL[0]], [*IDS[:5], IDS[0]]),
)
case("missing_ct", "the last CT has no line", run(PARTIAL[:5], IDS[:5]))
case("unknown_ct", "a CT id that is not in the test set", run(PARTIAL).replace("CTR_TST_006", "CTR_TST_999"))
case("blank_line", "a blank line between two lines", run(PARTIAL).replace("\n", "\n\n", 1))
case("utf8_bom", "the run starts with a UTF-8 byte-order mark", "\ufeff" + run(PARTIAL))
case("header_row", "the run starts with a header row", HEADER + run(PARTIAL))
case("five_values", "a line with five probabilities instead of six", run(PARTIAL).replace(",0.9\n", "\n", 1))
case(
    "shuffled_order",
    "lines in a different order than the ground truth",
    "".join(reversed(run(PARTIAL).splitlines(True))),
)
case("id_without_extension", "CT ids without '.nii.gz'", run(PARTIAL).replace(".nii.gz", ""))


# -- issue 27: labels whose ground truth has one class (the official AUC is NaN; `baselines evaluate` hung on the
# warning it gives)
def constant(column, value, labels=LABELS):
    return [[value if k == column else v for k, v in enumerate(row)] for row in labels]


case(
    "single_class_label_all_ones",
    "LeftLungAffected is 1 for every CT in the ground truth: its AUC is undefined",
    run(PARTIAL),
    gt(constant(0, 1)),
)
case(
    "two_single_class_labels",
    "CavernsLeft is 0 and CavernsRight 1 for every CT: two undefined AUCs",
    run(PARTIAL),
    gt(constant(3, 1, constant(2, 0))),
)
case(
    "every_label_single_class",
    "every label has one class in the ground truth: no AUC is defined",
    run(PARTIAL),
    gt([[0, 1, 0, 1, 0, 1]] * 6),
)
case(
    "single_class_label_perfect_run",
    "PleurisyLeft is 0 for every CT; the run ranks every other label perfectly",
    run(PERFECT),
    gt(constant(4, 0)),
)
case(
    "single_class_label_tied_run",
    "RightLungAffected is 1 for every CT and the run gives it 0.5 everywhere",
    run([[*row[:1], "0.5", *row[2:]] for row in PARTIAL]),
    gt(constant(1, 1)),
)
