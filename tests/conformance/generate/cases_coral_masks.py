"""ImageCLEFcoral 2020 pixel-wise parsing (subtask 2): mask mAP at IoU 0.5 conformance cases.

Files per case as in `cases_coral_polygons.py`: gt.txt (polygon annotations `img_id idx class 1 x1 y1 ...`),
run.txt (`img_id;substrate conf:x1+y1+x2+y2+...,...`), sizes.json. The organisers' pixel script does not
compute the mAP; these cases are scored by pycocotools' COCOeval on masks ("segm"), as for the boxes. They
probe polygons of 3 or more vertices without area (collinear or repeated vertices: pycocotools draws an
empty mask) and images of the test set without a ground-truth line.
"""

import json

I1, I2, I3 = "2018_0714_112604_057", "2018_0712_073531_044", "2019_0710_125406_010"
SIZES = {I1: [200, 150], I2: [200, 150]}
SC, SP = "c_soft_coral", "c_sponge"


def rect(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def gt_text(items):
    """items: (image, class, polygon)."""
    return "".join(
        f"{im} {k + 1} {cls} 1 " + " ".join(f"{x} {y}" for x, y in poly) + "\n"
        for k, (im, cls, poly) in enumerate(items)
    )


def group(cls, polys):
    return f"{cls} " + ",".join(f"{conf}:" + "+".join(f"{x}+{y}" for x, y in poly) for conf, poly in polys)


def run_text(lines):
    """lines: (image, [(class, [(conf, polygon)])])."""
    return "".join(f"{im};" + ";".join(group(c, p) for c, p in groups) + "\n" for im, groups in lines)


CASES = []


def case(name, note, gt, run, sizes=SIZES):
    CASES.append((name, {"gt.txt": gt, "run.txt": run, "sizes.json": json.dumps(sizes, indent=1) + "\n"}, note))


A, B, C = rect(10, 10, 49, 49), rect(60, 10, 99, 49), rect(10, 60, 49, 99)
GOOD = [(I1, SC, A), (I1, SC, B), (I2, SC, C)]
RUN_GOOD = [(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.7, C)])])]
HORIZONTAL = [(110, 120), (140, 120), (170, 120)]
SLANTED = [(110, 100), (130, 120), (150, 140)]
REPEATED = [(150, 60), (150, 60), (150, 60)]

# -- polygons of 3+ vertices without area: an empty mask (issue 27, item 5)
case(
    "gt_collinear_horizontal",
    "a fourth soft-coral polygon of 3 vertices on one horizontal line; the run finds the three others",
    gt_text([*GOOD, (I2, SC, HORIZONTAL)]),
    run_text(RUN_GOOD),
)
case(
    "gt_collinear_slanted",
    "a fourth soft-coral polygon of 3 vertices on one slanted line; the run finds the three others",
    gt_text([*GOOD, (I2, SC, SLANTED)]),
    run_text(RUN_GOOD),
)
case(
    "gt_repeated_vertex",
    "a fourth soft-coral polygon of one vertex written 3 times; the run finds the three others",
    gt_text([*GOOD, (I1, SC, REPEATED)]),
    run_text(RUN_GOOD),
)
case(
    "gt_collinear_only_sponge",
    "the only sponge polygon is collinear; the run predicts a sponge square around it and every soft coral",
    gt_text([*GOOD, (I2, SP, HORIZONTAL)]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.7, C)]), (SP, [(0.6, rect(105, 110, 175, 130))])])]),
)
case(
    "run_collinear_first",
    "the most confident detection is a collinear polygon across a ground-truth square; the three squares follow",
    gt_text(GOOD),
    run_text([(I1, [(SC, [(0.95, [(10, 30), (30, 30), (49, 30)]), (0.9, A), (0.8, B)])]), (I2, [(SC, [(0.7, C)])])]),
)
case(
    "run_collinear_on_collinear_gt",
    "a collinear detection equal to a collinear ground-truth polygon (two empty masks: IoU 0)",
    gt_text([*GOOD, (I2, SC, HORIZONTAL)]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.75, HORIZONTAL), (0.7, C)])])]),
)
case(
    "run_repeated_vertex_last",
    "the least confident detection is one vertex written 4 times (a false positive after the three squares)",
    gt_text(GOOD),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B), (0.1, [(20, 20)] * 4)])]), (I2, [(SC, [(0.7, C)])])]),
)

# -- a test image without a ground-truth line: its detections are false positives (issue 27, item 4)
THREE = {**SIZES, I3: [200, 150]}
case(
    "image_without_gt_first",
    "the third test image has no ground-truth line; the most confident detection is there",
    gt_text(GOOD),
    run_text([*RUN_GOOD, (I3, [(SC, [(0.95, A)])])]),
    THREE,
)
case(
    "image_without_gt_last",
    "the third test image has no ground-truth line; its detection is the least confident",
    gt_text(GOOD),
    run_text([*RUN_GOOD, (I3, [(SC, [(0.5, A)])])]),
    THREE,
)
case(
    "image_without_gt_empty_line",
    "the third test image has no ground-truth line and an empty run line (nothing to count)",
    gt_text(GOOD),
    run_text([*RUN_GOOD, (I3, [])]),
    THREE,
)
