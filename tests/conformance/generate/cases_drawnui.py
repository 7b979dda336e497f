"""ImageCLEFdrawnUI 2020 (box detection, mAP at IoU 0.5) conformance cases.

Files per case: gt.txt (`image.jpg;class 1:WxH+X+Y,1:...;class2 ...`, the drawnUI ground-truth CSV),
run.txt (same grammar with confidences), sizes.json ({image_id: [width, height]}).
"""

import json

I1, I2, I3 = "005a1269ffaaac13.jpg", "0b2c6e4e1e0c5d7a.jpg", "1f3d9a0c2b4e6f81.jpg"
SIZES = {I1: [1512, 2016], I2: [1512, 2016], I3: [1512, 2016]}


def box(x, y, w=100, h=50):
    return (x, y, w, h)


def grp(cls, items):
    return f"{cls} " + ",".join(f"{c}:{w}x{h}+{x}+{y}" for c, (x, y, w, h) in items)


def line(image, groups):
    return f"{image};" + ";".join(grp(c, items) for c, items in groups) + "\n"


def text(lines):
    return "".join(line(im, g) for im, g in lines)


# 5 ground-truth buttons in 3 images
B = {
    I1: [box(100, 100), box(400, 100)],
    I2: [box(100, 300), box(400, 300)],
    I3: [box(100, 500)],
}
GT5 = text([(im, [("button", [(1, b) for b in bs])]) for im, bs in B.items()])


def far(b):
    """A box that does not overlap b."""
    x, y, w, h = b
    return (x, y + 1000, w, h)


CASES = []


def case(name, note, run, gt=GT5, sizes=SIZES):
    CASES.append((name, {"gt.txt": gt, "run.txt": run, "sizes.json": json.dumps(sizes, indent=1) + "\n"}, note))


case(
    "issue_5gt_3img_3tp",
    "issue probe: 5 ground-truth boxes in 3 images, 3 exact detections (recall 0.6, precision 1 up to it)",
    text([(I1, [("button", [(0.9, B[I1][0]), (0.8, B[I1][1])])]), (I2, [("button", [(0.7, B[I2][0])])]), (I3, [])]),
)
case(
    "three_tp_then_two_fp",
    "the same 3 true positives followed (lower confidence) by 2 false positives",
    text(
        [
            (I1, [("button", [(0.9, B[I1][0]), (0.8, B[I1][1]), (0.2, far(B[I1][0]))])]),
            (I2, [("button", [(0.7, B[I2][0])])]),
            (I3, [("button", [(0.1, far(B[I3][0]))])]),
        ]
    ),
)
case(
    "fp_ranked_first",
    "a false positive with the highest confidence, then 5 true positives",
    text(
        [
            (I1, [("button", [(0.99, far(B[I1][0])), (0.9, B[I1][0]), (0.8, B[I1][1])])]),
            (I2, [("button", [(0.7, B[I2][0]), (0.6, B[I2][1])])]),
            (I3, [("button", [(0.5, B[I3][0])])]),
        ]
    ),
)
case(
    "perfect",
    "every ground-truth box detected exactly, nothing else",
    GT5.replace(" 1:", " 0.9:").replace(",1:", ",0.9:"),
)
case("recall_0.2", "one true positive out of 5", text([(I1, [("button", [(0.9, B[I1][0])])]), (I2, []), (I3, [])]))
case(
    "recall_0.4_interleaved",
    "TP, FP, TP, FP by confidence",
    text(
        [
            (I1, [("button", [(0.9, B[I1][0]), (0.8, far(B[I1][0]))])]),
            (I2, [("button", [(0.7, B[I2][0]), (0.6, far(B[I2][0]))])]),
            (I3, []),
        ]
    ),
)
case(
    "tie_tp_fp_same_image",
    "a false positive and a true positive with the same confidence in one image, the false positive first in"
    " the file; other boxes exact",
    text(
        [
            (I1, [("button", [(0.5, far(B[I1][0])), (0.5, B[I1][0]), (0.9, B[I1][1])])]),
            (I2, [("button", [(0.9, B[I2][0]), (0.9, B[I2][1])])]),
            (I3, [("button", [(0.9, B[I3][0])])]),
        ]
    ),
)
case(
    "tie_tp_fp_across_images",
    "a false positive (first image) and a true positive (last image) share confidence 0.5; the rest exact at 0.9",
    text(
        [
            (I1, [("button", [(0.9, B[I1][0]), (0.9, B[I1][1]), (0.5, far(B[I1][0]))])]),
            (I2, [("button", [(0.9, B[I2][0]), (0.9, B[I2][1])])]),
            (I3, [("button", [(0.5, B[I3][0])])]),
        ]
    ),
)
GT_MULTI = text(
    [
        (
            I1,
            [
                ("button", [(1, box(100, 100))]),
                ("paragraph", [(1, box(100, 400, 600, 120)), (1, box(100, 700, 600, 120))]),
            ],
        ),
        (I2, [("checkbox", [(1, box(50, 50, 40, 40)), (1, box(50, 150, 40, 40))])]),
    ]
)
MULTI_SIZES = {I1: SIZES[I1], I2: SIZES[I2]}
case(
    "multiple_classes",
    "three classes: button found, paragraph half found, checkbox found with a higher-ranked false positive",
    text(
        [
            (I1, [("button", [(0.9, box(100, 100))]), ("paragraph", [(0.8, box(100, 400, 600, 120))])]),
            (
                I2,
                [
                    (
                        "checkbox",
                        [(0.95, box(500, 500, 40, 40)), (0.9, box(50, 50, 40, 40)), (0.85, box(50, 150, 40, 40))],
                    )
                ],
            ),
        ]
    ),
    GT_MULTI,
    MULTI_SIZES,
)
case(
    "class_without_gt",
    "every ground-truth box exact, plus detections of 'image', a class with no ground truth",
    text(
        [
            (
                I1,
                [
                    ("button", [(0.9, box(100, 100))]),
                    ("paragraph", [(0.9, box(100, 400, 600, 120)), (0.9, box(100, 700, 600, 120))]),
                    ("image", [(0.99, box(800, 800))]),
                ],
            ),
            (I2, [("checkbox", [(0.9, box(50, 50, 40, 40)), (0.9, box(50, 150, 40, 40))])]),
        ]
    ),
    GT_MULTI,
    MULTI_SIZES,
)
case(
    "class_with_gt_no_detections",
    "button and paragraph exact, no checkbox detection at all",
    text(
        [
            (
                I1,
                [
                    ("button", [(0.9, box(100, 100))]),
                    ("paragraph", [(0.9, box(100, 400, 600, 120)), (0.9, box(100, 700, 600, 120))]),
                ],
            ),
            (I2, []),
        ]
    ),
    GT_MULTI,
    MULTI_SIZES,
)
ONE = {I1: SIZES[I1]}
GT_ONE = text([(I1, [("button", [(1, box(100, 100, 100, 100))])])])
case(
    "iou_exactly_0.5",
    "a detection whose IoU with the only ground-truth box is exactly 0.5 (100x100 box vs 100x200 box)",
    text([(I1, [("button", [(0.9, box(100, 100, 100, 200))])])]),
    GT_ONE,
    ONE,
)
case(
    "iou_just_below_0.5",
    "IoU 100*99/(100*201) below 0.5: 100x100 box vs 100x201 box",
    text([(I1, [("button", [(0.9, box(100, 100, 100, 201))])])]),
    GT_ONE,
    ONE,
)
case(
    "duplicate_detection",
    "two identical detections of the same ground-truth box: the second is a false positive",
    text([(I1, [("button", [(0.9, box(100, 100, 100, 100)), (0.8, box(100, 100, 100, 100))])])]),
    GT_ONE,
    ONE,
)
case(
    "over_100_detections",
    "101 detections in one image: 100 false positives at 0.9, then the only true positive at 0.1",
    text(
        [
            (
                I1,
                [
                    (
                        "button",
                        [(0.9, (10 * (k % 10), 1000 + 60 * (k // 10), 8, 8)) for k in range(100)]
                        + [(0.1, box(100, 100, 100, 100))],
                    )
                ],
            )
        ]
    ),
    GT_ONE,
    ONE,
)
case(
    "fp_in_image_without_gt",
    "the second image has no ground-truth box; a false positive there ranks above the true positive",
    text([(I1, [("button", [(0.5, box(100, 100, 100, 100))])]), (I2, [("button", [(0.9, box(100, 100, 100, 100))])])]),
    GT_ONE + f"{I2};\n",
    {I1: SIZES[I1], I2: SIZES[I2]},
)
case(
    "one_pixel_shift",
    "a 10x10 detection shifted by 1 px (IoU 90/110 = 0.818 with continuous boxes)",
    text([(I1, [("button", [(0.9, (101, 100, 10, 10))])])]),
    text([(I1, [("button", [(1, (100, 100, 10, 10))])])]),
    ONE,
)
case(
    "wrong_class",
    "boxes at the right places but labelled as another class",
    text(
        [
            (I1, [("link", [(0.9, B[I1][0]), (0.8, B[I1][1])])]),
            (I2, [("link", [(0.7, B[I2][0]), (0.6, B[I2][1])])]),
            (I3, [("link", [(0.5, B[I3][0])])]),
        ]
    ),
)
case(
    "recall_0.8",
    "four exact detections of the 5 ground-truth boxes, nothing else (recall exactly 0.8, no ties)",
    text(
        [
            (I1, [("button", [(0.9, B[I1][0]), (0.8, B[I1][1])])]),
            (I2, [("button", [(0.7, B[I2][0]), (0.6, B[I2][1])])]),
            (I3, []),
        ]
    ),
)
# 3 ground-truth boxes: recall levels 1/3, 2/3, 1 fall between the 101 recall thresholds except 1
B3 = {I1: [box(100, 100), box(400, 100)], I2: [box(100, 300)]}
GT3 = text([(im, [("button", [(1, b) for b in bs])]) for im, bs in B3.items()])
SIZES2 = {I1: SIZES[I1], I2: SIZES[I2]}
case(
    "tie_3gt_fp_first_same_image",
    "3 ground-truth boxes; in the first image a false positive and a true positive share confidence 0.5, the"
    " false positive written first",
    text(
        [
            (I1, [("button", [(0.9, B3[I1][0]), (0.5, far(B3[I1][0])), (0.5, B3[I1][1])])]),
            (I2, [("button", [(0.9, B3[I2][0])])]),
        ]
    ),
    GT3,
    SIZES2,
)
case(
    "tie_3gt_tp_first_same_image",
    "as tie_3gt_fp_first_same_image, but the tied true positive written before the false positive",
    text(
        [
            (I1, [("button", [(0.9, B3[I1][0]), (0.5, B3[I1][1]), (0.5, far(B3[I1][0]))])]),
            (I2, [("button", [(0.9, B3[I2][0])])]),
        ]
    ),
    GT3,
    SIZES2,
)
case(
    "tie_3gt_fp_in_first_image",
    "3 ground-truth boxes; a false positive in the first image and a true positive in the second share confidence 0.5",
    text(
        [
            (I1, [("button", [(0.9, B3[I1][0]), (0.9, B3[I1][1]), (0.5, far(B3[I1][0]))])]),
            (I2, [("button", [(0.5, B3[I2][0])])]),
        ]
    ),
    GT3,
    SIZES2,
)
case(
    "tie_3gt_fp_in_second_image",
    "3 ground-truth boxes; a true positive in the first image and a false positive in the second share confidence 0.5",
    text(
        [
            (I1, [("button", [(0.9, B3[I1][0]), (0.5, B3[I1][1])])]),
            (I2, [("button", [(0.9, B3[I2][0]), (0.5, far(B3[I2][0]))])]),
        ]
    ),
    GT3,
    SIZES2,
)
case(
    "exactly_100_detections",
    "100 detections in one image: 99 false positives at 0.9, then the only true positive at 0.1 (all 100 kept)",
    text(
        [
            (
                I1,
                [
                    (
                        "button",
                        [(0.9, (10 * (k % 10), 1000 + 60 * (k // 10), 8, 8)) for k in range(99)]
                        + [(0.1, box(100, 100, 100, 100))],
                    )
                ],
            )
        ]
    ),
    GT_ONE,
    ONE,
)
GRID = [(20 * (k % 30), 20 * (k // 30), 10, 10) for k in range(101)]
case(
    "gt_101_one_class",
    "101 ground-truth boxes of one class in one image, all detected exactly: COCO keeps 100 detections per image"
    " and class, so recall stops at 100/101",
    text([(I1, [("button", [(round(1 - k / 1000, 3), b) for k, b in enumerate(GRID)])])]),
    text([(I1, [("button", [(1, b) for b in GRID])])]),
    ONE,
)
case(
    "ties_several_classes",
    "two classes, each with a tied true positive and false positive (false positive first in the file), and a"
    " class with ground truth but no detection",
    text(
        [
            (I1, [("button", [(0.9, B[I1][0]), (0.5, far(B[I1][1])), (0.5, B[I1][1])])]),
            (I2, [("paragraph", [(0.7, box(100, 700, 600, 120)), (0.7, box(100, 400, 600, 120))])]),
        ]
    ),
    text(
        [
            (I1, [("button", [(1, b) for b in B[I1]])]),
            (I2, [("paragraph", [(1, box(100, 400, 600, 120))]), ("checkbox", [(1, box(50, 50, 40, 40))])]),
        ]
    ),
    SIZES2,
)

# -- issue 27: test images without a ground-truth line, boxes of zero width or height (ground truth and run)
I4, I5 = "2c4d6e8fa0b1c2d3.jpg", "3e5f7a9b1c2d4e6f.jpg"
SIZES4 = {**SIZES, I4: [1512, 2016]}
SIZES5 = {**SIZES4, I5: [1512, 2016]}
ALL5 = [(I1, B[I1][0], 0.9), (I1, B[I1][1], 0.8), (I2, B[I2][0], 0.7), (I2, B[I2][1], 0.6), (I3, B[I3][0], 0.5)]


def perfect_with(extra):
    """The 5 ground-truth buttons detected exactly (0.9 .. 0.5) plus extra [(image, class, conf, box)]."""
    lines = {}
    for image, b, conf in ALL5:
        lines.setdefault(image, {}).setdefault("button", []).append((conf, b))
    for image, cls, conf, b in extra:
        lines.setdefault(image, {}).setdefault(cls, []).append((conf, b))
    return text([(image, list(groups.items())) for image, groups in lines.items()])


case(
    "image_without_gt_line_fp_first",
    "a test image (in --images) without a ground-truth line holds the most confident detection; every box found",
    perfect_with([(I4, "button", 0.95, B[I1][0])]),
    sizes=SIZES4,
)
case(
    "image_without_gt_line_fp_middle",
    "a detection on a test image without a ground-truth line ranks third of six; every box found",
    perfect_with([(I4, "button", 0.75, B[I1][0])]),
    sizes=SIZES4,
)
case(
    "image_without_gt_line_fp_last",
    "a detection on a test image without a ground-truth line ranks last; every box found (AP stays 1)",
    perfect_with([(I4, "button", 0.05, B[I1][0])]),
    sizes=SIZES4,
)
case(
    "image_without_gt_line_two_images",
    "two test images without a ground-truth line, each with a detection ranked among the true positives",
    perfect_with([(I4, "button", 0.85, B[I1][0]), (I5, "button", 0.65, B[I1][1])]),
    sizes=SIZES5,
)
case(
    "image_without_gt_line_class_without_gt",
    "a test image without a ground-truth line holds a link, a class without ground truth (left out of the mean)",
    perfect_with([(I4, "link", 0.95, B[I1][0])]),
    sizes=SIZES4,
)
case(
    "image_without_gt_line_empty",
    "a test image without a ground-truth line has an empty run line",
    perfect_with([]) + f"{I4};\n",
    sizes=SIZES4,
)
GT_ZERO_W = GT5.replace(f"{I3};button 1:100x50+100+500", f"{I3};button 1:100x50+100+500,1:0x50+700+500")
GT_ZERO_H = GT5.replace(f"{I3};button 1:100x50+100+500", f"{I3};button 1:100x50+100+500,1:100x0+700+500")
case(
    "gt_zero_width_box",
    "a sixth ground-truth button of zero width; the five others are found",
    perfect_with([]),
    gt=GT_ZERO_W,
)
case(
    "gt_zero_height_box_detected_around",
    "a sixth ground-truth button of zero height; a box around it is the most confident detection",
    perfect_with([(I3, "button", 0.95, (690, 490, 120, 20))]),
    gt=GT_ZERO_H,
)
case(
    "run_zero_width_first",
    "the most confident detection has zero width, inside a ground-truth box",
    perfect_with([(I1, "button", 0.95, (150, 100, 0, 50))]),
)
case(
    "run_zero_height_middle",
    "a detection of zero height on a ground-truth box's top edge ranks third",
    perfect_with([(I2, "button", 0.75, (100, 300, 100, 0))]),
)
case(
    "run_zero_size_first",
    "the most confident detection is a point (0x0) inside a ground-truth box",
    perfect_with([(I1, "button", 0.95, (120, 120, 0, 0))]),
)
case(
    "run_zero_width_on_zero_width_gt",
    "a zero-width detection exactly on a zero-width ground-truth box (IoU 0: a false positive and a miss)",
    perfect_with([(I3, "button", 0.55, (700, 500, 0, 50))]),
    gt=GT_ZERO_W,
)
