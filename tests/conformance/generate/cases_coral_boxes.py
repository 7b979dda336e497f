"""ImageCLEFcoral 2020 annotation & localisation (subtask 1, box mAP at IoU 0.5) conformance cases.

Files per case: gt.txt (box annotations `img_id idx class 1 xmin ymax xmax ymin`, space-separated, CRLF, no
header: the released training box layout), run.txt (`img_id;substrate conf:WxH+X+Y,...;substrate2 ...`),
sizes.json ({image_id: [width, height]}). What these cases probe is the geometry the file holds as COCOeval
sees it: -1 coordinates (not clipped) and boxes of zero width or height (kept as ground truth nothing
matches; in a run, a detection that matches nothing).
"""

import json

I1, I2 = "2018_0714_112502_037", "2018_0729_112409_024"
SIZES = {I1: [400, 300], I2: [400, 300]}
SC, SP, AL = "c_soft_coral", "c_sponge", "c_algae_macro_or_leaves"


def gt_text(items):
    """items: (image, class, (xmin, ymin, xmax, ymax)), written in the released order xmin ymax xmax ymin."""
    return "".join(f"{im} {k} {cls} 1 {x0} {y1} {x1} {y0}\r\n" for k, (im, cls, (x0, y0, x1, y1)) in enumerate(items))


def group(cls, boxes):
    return f"{cls} " + ",".join(f"{conf}:{x1 - x0}x{y1 - y0}+{x0}+{y0}" for conf, (x0, y0, x1, y1) in boxes)


def run_text(lines):
    """lines: (image, [(class, [(conf, (xmin, ymin, xmax, ymax))])])."""
    return "".join(f"{im};" + ";".join(group(c, b) for c, b in groups) + "\n" for im, groups in lines)


CASES = []


def case(name, note, gt, run, sizes=SIZES):
    CASES.append((name, {"gt.txt": gt, "run.txt": run, "sizes.json": json.dumps(sizes, indent=1) + "\n"}, note))


A, B, C = (10, 10, 60, 60), (100, 10, 150, 60), (10, 100, 60, 150)
D = (200, 100, 260, 160)
GOOD = [(I1, SC, A), (I1, SC, B), (I2, SC, C)]
RUN_GOOD = [(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.7, C)])])]

# -- ground-truth boxes of zero width or height: kept, as ground truth nothing matches (issue 27, item 2)
case(
    "gt_zero_width",
    "a fourth soft-coral box of zero width (xmin = xmax); the run finds the three others",
    gt_text([*GOOD, (I2, SC, (300, 10, 300, 60))]),
    run_text(RUN_GOOD),
)
case(
    "gt_zero_height",
    "a fourth soft-coral box of zero height (ymin = ymax); the run finds the three others",
    gt_text([*GOOD, (I2, SC, (300, 40, 360, 40))]),
    run_text(RUN_GOOD),
)
case(
    "gt_zero_size",
    "a fourth soft-coral box that is a point; the run finds the three others",
    gt_text([*GOOD, (I1, SC, (300, 200, 300, 200))]),
    run_text(RUN_GOOD),
)
case(
    "gt_zero_width_only_sponge",
    "the only sponge box has zero width; the run predicts a sponge box around it (a false positive) and every"
    " soft coral",
    gt_text([*GOOD, (I1, SP, (300, 10, 300, 60))]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)]), (SP, [(0.95, (290, 10, 310, 60))])]), (I2, [(SC, [(0.7, C)])])]),
)
case(
    "gt_zero_width_box_around_it_first",
    "a zero-width soft-coral box; the most confident detection is a box around it (a false positive), then"
    " the three others",
    gt_text([*GOOD, (I2, SC, (300, 10, 300, 60))]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.95, (290, 10, 310, 60)), (0.7, C)])])]),
)
case(
    "gt_zero_height_two_classes",
    "two classes, each with one zero-height box beside a normal one; every normal box found",
    gt_text([(I1, SC, A), (I1, SC, (100, 40, 160, 40)), (I2, AL, C), (I2, AL, (100, 200, 180, 200))]),
    run_text([(I1, [(SC, [(0.9, A)])]), (I2, [(AL, [(0.8, C)])])]),
)

# -- -1 coordinates: not clipped (issue 27, item 3)
case(
    "gt_minus_one_xmin",
    "ground truth x from -1 to 2 (width 3), detection x from 0 to 1: IoU 1/3 as written, 1/2 if -1 were clipped to 0",
    gt_text([*GOOD, (I2, SC, (-1, 200, 2, 260))]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.7, C), (0.6, (0, 200, 1, 260))])])]),
)
case(
    "gt_minus_one_ymin",
    "ground truth y from -1 to 2 (the 4th number of the line is -1), detection y from 0 to 1: IoU 1/3",
    gt_text([*GOOD, (I2, SC, (200, -1, 260, 2))]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.7, C), (0.95, (200, 0, 260, 1))])])]),
)
case(
    "gt_minus_one_corner",
    "ground truth (-1, -1)-(3, 3) (16 px), detection (0, 0)-(3, 2) (6 px): IoU 0.375 as written, 0.667 clipped",
    gt_text([*GOOD, (I1, SC, (-1, -1, 3, 3))]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B), (0.85, (0, 0, 3, 2))])]), (I2, [(SC, [(0.7, C)])])]),
)
case(
    "gt_minus_one_still_matches",
    "ground truth x from -1 to 3, detection x from 0 to 4: IoU 3/5 as written (3/4 clipped), a match either way",
    gt_text([*GOOD, (I2, SC, (-1, 200, 3, 260))]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.7, C), (0.6, (0, 200, 4, 260))])])]),
)
case(
    "gt_minus_one_to_zero",
    "ground truth x from -1 to 0 (width 1 as written, 0 once clipped); a detection x from 0 to 1 touches it",
    gt_text([*GOOD, (I2, SC, (-1, 200, 0, 260))]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.7, C), (0.6, (0, 200, 1, 260))])])]),
)
case(
    "gt_minus_one_only_algae",
    "the only algae box starts at x = -1 (as line 11 of the released boxes file), x from -1 to 2; the detection"
    " x from 0 to 1 has IoU 1/3 (1/2 if -1 were clipped)",
    gt_text([*GOOD, (I1, AL, (-1, 200, 2, 260))]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)]), (AL, [(0.5, (0, 200, 1, 260))])]), (I2, [(SC, [(0.7, C)])])]),
)

# -- run boxes of zero width or height: accepted with a warning, scored as COCOeval scores them (item 6)
case(
    "run_zero_width_first",
    "the most confident detection has zero width, inside a ground-truth box; the three boxes follow",
    gt_text(GOOD),
    run_text([(I1, [(SC, [(0.95, (30, 10, 30, 60)), (0.9, A), (0.8, B)])]), (I2, [(SC, [(0.7, C)])])]),
)
case(
    "run_zero_height_on_zero_height_gt",
    "a zero-height detection exactly on a zero-height ground-truth box (IoU 0: no area on either side)",
    gt_text([*GOOD, (I2, SC, (300, 40, 360, 40))]),
    run_text([(I1, [(SC, [(0.9, A), (0.8, B)])]), (I2, [(SC, [(0.75, (300, 40, 360, 40)), (0.7, C)])])]),
)
