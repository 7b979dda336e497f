"""`baselines draw --task T RUN --images DIR --out DIR [--gt GT]`: one PNG per test item of a run.

What is drawn depends on the task (baselines.visual.drawing, .views): regions on the image (ground truth and
prediction side by side, one colour per class, a legend), text beside the image, an LMRT topic's
contact sheet, a TB CT's slice montage. With --gt the ground truth is drawn too; region tasks draw a
ground-truth file alone when no run file is given (`--gt` read by the task's own ground-truth reader,
e.g. coral's training annotations). How many predictions `--min-score` left out is printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from baselines.commands._reference import printed_warnings

HELP = "draw a run's predictions (and with --gt the ground truth): one PNG per test item"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="a registered task (baselines tasks)")
    parser.add_argument(
        "run_file", nargs="?", default=None, help="the run file (region tasks: leave out to draw --gt alone)"
    )
    parser.add_argument(
        "--images",
        required=True,
        help="the test images (or CT volumes); for LMRT the collection's image folder",
    )
    parser.add_argument("--out", required=True, help="folder for the PNGs (created)")
    parser.add_argument(
        "--ground-truth", "--gt", dest="ground_truth", default=None, help="the split's ground truth: drawn too"
    )
    parser.add_argument(
        "--min-score", type=float, default=0.3, help="regions: draw predictions from this confidence (default 0.3)"
    )
    parser.add_argument("--top-k", type=int, default=10, help="LMRT: images per topic (default 10)")
    parser.add_argument("--masks", default=None, help="TB: lung-mask folder (else each half of the volume is a lung)")
    parser.add_argument("--questions", default=None, help="VQA: the test questions file, shown with the answers")
    parser.add_argument("--limit", type=int, default=None, help="draw only the first N items of the run")
    parser.add_argument(
        "--longest", type=int, default=None, help="regions: scale images down to this longer side (default: full size)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace PNGs that exist")


def run(args: argparse.Namespace) -> int:
    from baselines.tasks import get_task
    from baselines.visual.drawing import draw_run

    spec = get_task(args.task)
    with printed_warnings():
        drawn = draw_run(
            spec,
            args.run_file,
            args.images,
            args.out,
            ground_truth=args.ground_truth,
            min_score=args.min_score,
            top_k=args.top_k,
            masks=args.masks,
            questions=args.questions,
            limit=args.limit,
            longest=args.longest,
            overwrite=args.overwrite,
        )
    print(f"{len(drawn.pictures)} pictures in {Path(args.out)}")
    if drawn.hidden is not None:
        below = f"are below --min-score {args.min_score:g} and not drawn"
        print(
            f"{drawn.hidden} of {drawn.predicted} predicted regions {below}"
            + (" (--min-score 0 draws them all)" if drawn.hidden else "")
        )
    return 0
