"""ImageCLEFcoral 2020 pixel-wise parsing (subtask 2) conformance cases.

Files per case: gt.txt (polygon annotations `img_id idx class 1 x1 y1 x2 y2 ...`, space-separated, no
header: the training polygon format, which is also what the organisers' pixel_accuracy.py reads for the
test ground truth), run.txt (`img_id;substrate conf:x1+y1+x2+y2+...,conf:...;substrate2 ...`),
sizes.json ({image_id: [width, height]}).
"""

import json

IMG1, IMG2, IMG3 = "2018_0714_112604_057", "2018_0712_073531_044", "2019_0710_125406_010"
SMALL = [200, 150]


def rect(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def gt_line(image, idx, cls, poly):
    return f"{image} {idx} {cls} 1 " + " ".join(f"{x} {y}" for x, y in poly) + "\n"


def gt_text(items):
    """items: (image, class, polygon)."""
    return "".join(gt_line(im, k + 1, cls, poly) for k, (im, cls, poly) in enumerate(items))


def group(cls, polys):
    return f"{cls} " + ",".join(f"{conf}:" + "+".join(f"{x}+{y}" for x, y in poly) for conf, poly in polys)


def run_text(lines):
    """lines: (image, [(class, [(conf, polygon)])])."""
    return "".join(f"{im};" + ";".join(group(c, p) for c, p in groups) + "\n" for im, groups in lines)


CASES = []


def case(name, note, gt, run, sizes=None):
    sizes = sizes or {IMG1: SMALL}
    CASES.append((name, {"gt.txt": gt, "run.txt": run, "sizes.json": json.dumps(sizes, indent=1) + "\n"}, note))


SC, SP, AL = "c_soft_coral", "c_sponge", "c_algae_macro_or_leaves"
SQ = rect(10, 10, 59, 59)
GT_SQ = gt_text([(IMG1, SC, SQ)])

case("perfect_square", "one square substrate, predicted exactly", GT_SQ, run_text([(IMG1, [(SC, [(0.9, SQ)])])]))
case(
    "shifted_square",
    "the predicted square is shifted right by half its width",
    GT_SQ,
    run_text([(IMG1, [(SC, [(0.9, rect(35, 10, 84, 59))])])]),
)
case(
    "overlap_same_class_run",
    "issue probe (overlap): the ground-truth square is predicted as two overlapping rectangles of the same class"
    " whose union is exactly the square (per-class union masks are identical)",
    gt_text([(IMG1, SC, rect(0, 0, 99, 99))]),
    run_text([(IMG1, [(SC, [(0.9, rect(0, 0, 59, 99)), (0.8, rect(40, 0, 99, 99))])])]),
)
case(
    "overlap_same_class_gt",
    "the ground truth has two overlapping polygons of one class; the run predicts their union as one polygon",
    gt_text([(IMG1, SC, rect(0, 0, 59, 99)), (IMG1, SC, rect(40, 0, 99, 99))]),
    run_text([(IMG1, [(SC, [(0.9, rect(0, 0, 99, 99))])])]),
)
case(
    "overlap_same_class_both",
    "ground truth and run hold the same two overlapping polygons of one class",
    gt_text([(IMG1, SC, rect(0, 0, 59, 99)), (IMG1, SC, rect(40, 0, 99, 99))]),
    run_text([(IMG1, [(SC, [(0.9, rect(0, 0, 59, 99)), (0.8, rect(40, 0, 99, 99))])])]),
)
GT_OVER = gt_text([(IMG1, AL, rect(0, 0, 49, 49)), (IMG1, SP, rect(25, 25, 74, 74))])
case(
    "class_overwrite_exact",
    "two overlapping substrates of different classes, predicted exactly",
    GT_OVER,
    run_text([(IMG1, [(AL, [(0.9, rect(0, 0, 49, 49))]), (SP, [(0.9, rect(25, 25, 74, 74))])])]),
)
case(
    "class_overwrite_partial",
    "two overlapping substrates of different classes (c_sponge is later in the organisers' class order and"
    " overwrites c_algae_macro_or_leaves); the run predicts only the algae square, exactly",
    GT_OVER,
    run_text([(IMG1, [(AL, [(0.9, rect(0, 0, 49, 49))])])]),
)
case(
    "class_overwrite_hidden",
    "an algae square lies inside a sponge square (hidden in a one-label-per-pixel map); the run predicts only"
    " the algae square, exactly",
    gt_text([(IMG1, AL, rect(20, 20, 39, 39)), (IMG1, SP, rect(0, 0, 79, 79))]),
    run_text([(IMG1, [(AL, [(0.9, rect(20, 20, 39, 39))])])]),
)
case(
    "gt_no_final_newline",
    "the ground-truth file lacks a final newline: the organisers' reader cuts the last character of every"
    " line, so the last coordinate '59' becomes '5'",
    GT_SQ.rstrip("\n"),
    run_text([(IMG1, [(SC, [(0.9, SQ)])])]),
)
case(
    "run_no_final_newline",
    "the run file lacks a final newline (last coordinate '59' becomes '5' in the organisers' reader)",
    GT_SQ,
    run_text([(IMG1, [(SC, [(0.9, SQ)])])]).rstrip("\n"),
)
BIG = {IMG1: [4032, 3024]}
case(
    "canvas_width_3024",
    "a 4032x3024 image (width x height) with substrates beyond x = 3024: the organisers' canvas is 3024"
    " pixels wide (numpy shape (4032, 3024))",
    gt_text([(IMG1, SC, rect(3010, 100, 3100, 199))]),
    run_text([(IMG1, [(SC, [(0.9, rect(3030, 100, 3120, 199))])])]),
    BIG,
)
case(
    "all_off_canvas",
    "every substrate lies at x >= 3100 of a 4032x3024 image: nothing is drawn on the organisers' canvas",
    gt_text([(IMG1, SC, rect(3100, 100, 3200, 199))]),
    run_text([(IMG1, [(SC, [(0.9, rect(3100, 100, 3200, 199))])])]),
    BIG,
)
TWO = {IMG1: SMALL, IMG2: SMALL}
case(
    "missing_run_image",
    "two ground-truth images, the run has a line for the first only",
    gt_text([(IMG1, SC, SQ), (IMG2, SC, SQ)]),
    run_text([(IMG1, [(SC, [(0.9, SQ)])])]),
    TWO,
)
case(
    "extra_run_image",
    "the run also has a line for an image that is not in the ground truth",
    GT_SQ,
    run_text([(IMG1, [(SC, [(0.9, SQ)])]), (IMG3, [(SC, [(0.9, SQ)])])]),
    {IMG1: SMALL, IMG3: SMALL},
)
case(
    "pooled_vs_mean",
    "a large substrate predicted exactly and a small one missed: the pooled average weights classes by area",
    gt_text([(IMG1, SC, rect(0, 0, 99, 99)), (IMG1, SP, rect(120, 0, 129, 9))]),
    run_text([(IMG1, [(SC, [(0.9, rect(0, 0, 99, 99))]), (SP, [(0.9, rect(150, 100, 159, 109))])])]),
)
case(
    "confidence_ignored",
    "an exact prediction plus a second, non-overlapping polygon of the same class with confidence 0.01",
    GT_SQ,
    run_text([(IMG1, [(SC, [(0.9, SQ), (0.01, rect(100, 100, 149, 149))])])]),
)
case(
    "trailing_semicolon_run",
    "a run line ending with ';'",
    GT_SQ,
    run_text([(IMG1, [(SC, [(0.9, SQ)])])]).replace("\n", ";\n"),
)
case(
    "two_spaces_in_group",
    "two spaces between the class name and its regions",
    GT_SQ,
    run_text([(IMG1, [(SC, [(0.9, SQ)])])]).replace(f"{SC} ", f"{SC}  "),
)
case(
    "trailing_space_in_group",
    "one space after the last region of the line",
    GT_SQ,
    run_text([(IMG1, [(SC, [(0.9, SQ)])])]).replace("\n", " \n"),
)
case(
    "float_coordinates_run",
    "run vertices written with decimals",
    GT_SQ,
    f"{IMG1};{SC} 0.9:10.0+10.0+59.0+10.0+59.0+59.0+10.0+59.0\n",
)
case(
    "degenerate_gt_one_point",
    "the ground truth holds an extra one-point sponge polygon that the run does not predict",
    gt_text([(IMG1, SC, SQ), (IMG1, SP, [(120, 120)])]),
    run_text([(IMG1, [(SC, [(0.9, SQ)])])]),
)
case(
    "negative_coordinates_gt",
    "a ground-truth vertex at -1 (as in some training polygons); the run predicts the same polygon from 0",
    gt_text([(IMG1, SC, [(-1, 10), (59, 10), (59, 59), (-1, 59)])]),
    run_text([(IMG1, [(SC, [(0.9, [(0, 10), (59, 10), (59, 59), (0, 59)])])])]),
)
case(
    "gt_blank_line_end",
    "the ground-truth file ends with a blank line",
    GT_SQ + "\n",
    run_text([(IMG1, [(SC, [(0.9, SQ)])])]),
)
TRI = [(10, 10), (90, 20), (40, 80)]
case(
    "triangle_shifted",
    "a triangle predicted 4 px right and 2 px down (rasterisation conventions matter)",
    gt_text([(IMG1, SC, TRI)]),
    run_text([(IMG1, [(SC, [(0.9, [(x + 4, y + 2) for x, y in TRI])])])]),
)
case(
    "two_images_pooled",
    "two images, the same class, one exact and one shifted: intersections and unions are pooled",
    gt_text([(IMG1, SC, SQ), (IMG2, SC, rect(0, 0, 99, 99))]),
    run_text([(IMG1, [(SC, [(0.9, SQ)])]), (IMG2, [(SC, [(0.9, rect(50, 0, 149, 99))])])]),
    TWO,
)
case(
    "crlf_run", "Windows line endings in the run", GT_SQ, run_text([(IMG1, [(SC, [(0.9, SQ)])])]).replace("\n", "\r\n")
)
case(
    "negative_vertex_run",
    "a run polygon with vertices at x = -1 (the organisers' reader takes int('-1') and OpenCV clips it); the ground"
    " truth is the same square from x = 0",
    gt_text([(IMG1, SC, rect(0, 10, 59, 59))]),
    run_text([(IMG1, [(SC, [(0.9, [(-1, 10), (59, 10), (59, 59), (-1, 59)])])])]),
)
case(
    "negative_vertex_slanted_run",
    "a run triangle with a vertex at (-1, -1): the slanted edges differ from a triangle whose vertex is moved to"
    " (0, 0), so clipping when drawing and clamping the vertex give different pixels",
    gt_text([(IMG1, SC, [(0, 0), (80, 10), (10, 80)])]),
    run_text([(IMG1, [(SC, [(0.9, [(-1, -1), (80, 10), (10, 80)])])])]),
)
case(
    "class_overwrite_run",
    "the ground truth is one algae square; the run predicts it exactly plus an overlapping sponge square, which"
    " overwrites algae in the run's label map (c_sponge is later in the organisers' order)",
    gt_text([(IMG1, AL, rect(0, 0, 49, 49))]),
    run_text([(IMG1, [(AL, [(0.9, rect(0, 0, 49, 49))]), (SP, [(0.9, rect(25, 25, 74, 74))])])]),
)
case(
    "overlap_three_same_class_run",
    "three same-class run rectangles overlapping in one corner (covered once, twice and three times): how OpenCV"
    " fills several polygons in one call",
    gt_text([(IMG1, SC, rect(0, 0, 99, 99))]),
    run_text([(IMG1, [(SC, [(0.9, rect(0, 0, 59, 59)), (0.8, rect(40, 0, 99, 59)), (0.7, rect(20, 40, 79, 99))])])]),
)
case(
    "one_point_polygon_run",
    "the run holds an extra one-vertex polygon (the organisers' reader accepts it and OpenCV draws one pixel)",
    GT_SQ,
    f"{IMG1};{SC} 0.9:10+10+59+10+59+59+10+59,0.5:120+120\n",
)
case(
    "unknown_class_run",
    "a run group with a misspelt substrate (the organisers' code draws only the names it knows)",
    GT_SQ,
    f"{IMG1};c_soft_coral 0.9:10+10+59+10+59+59+10+59;c_softcoral 0.9:100+100+149+100+149+149+100+149\n",
)
case(
    "duplicate_image_run",
    "the same image on two run lines, one polygon each (the organisers' reader merges them)",
    gt_text([(IMG1, SC, rect(0, 0, 99, 99))]),
    f"{IMG1};{SC} 0.9:0+0+49+0+49+99+0+99\n{IMG1};{SC} 0.8:50+0+99+0+99+99+50+99\n",
)
