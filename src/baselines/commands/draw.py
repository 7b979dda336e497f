"""`baselines draw --task T RUN --images DIR --out DIR [--gt GT]`: one PNG per test item of a run.

What is drawn depends on the task (baselines.visual.views): regions on the image, text beside the
image, an LMRT topic's contact sheet, a TB CT's slice montage. With --gt the ground truth is drawn too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from baselines.commands._reference import printed_warnings

HELP = "draw a run's predictions (and with --gt the ground truth): one PNG per test item"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="a registered task (baselines tasks)")
    parser.add_argument("run_file")
    parser.add_argument(
        "--images",
        required=True,
        help="the test images (or CT volumes); for LMRT the collection's image folder",
    )
    parser.add_argument("--out", required=True, help="folder for the PNGs (created)")
    parser.add_argument(
        "--ground-truth", "--gt", dest="ground_truth", default=None, help="the split's ground truth: drawn too"
    )
    parser.add_argument("--min-score", type=float, default=0.3, help="regions: draw predictions from this confidence")
    parser.add_argument("--top-k", type=int, default=10, help="LMRT: images per topic (default 10)")
    parser.add_argument("--masks", default=None, help="TB: lung-mask folder (else each half of the volume is a lung)")
    parser.add_argument("--questions", default=None, help="VQA: the test questions file, shown with the answers")
    parser.add_argument("--limit", type=int, default=None, help="draw only the first N items of the run")
    parser.add_argument("--overwrite", action="store_true", help="replace PNGs that exist")


def run(args: argparse.Namespace) -> int:
    from baselines.paths import child_path
    from baselines.tasks import get_task
    from baselines.visual.render import save_png
    from baselines.visual.views import Sources, drawer_for, output_name, render

    spec = get_task(args.task)
    drawer = drawer_for(spec)  # a task without pictures fails before anything is read
    with printed_warnings():
        reference = spec.load_reference(args.ground_truth, None) if args.ground_truth else None
        parsed = spec.parse_run(args.run_file, reference)
    items = list(parsed)[: args.limit] if args.limit is not None else list(parsed)
    out = Path(args.out)
    # Every output path is checked before anything is drawn: a bad id writes nothing at all.
    targets = {item: child_path(out, output_name(item), args.run_file, item) for item in items}
    clashes = len(set(targets.values())) < len(targets)
    if clashes:
        raise ValueError(f"{args.run_file}: two ids give the same PNG name once their suffix is replaced")
    if not args.overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise FileExistsError(f"{existing[0]} exists ({len(existing)} in all); pass --overwrite to replace them")
    questions = {}
    if args.questions:
        from baselines.data.formats.vqamed import read_questions

        questions = dict(read_questions(args.questions))
    sources = Sources(
        files=drawer.files(spec, Path(args.images)),
        min_score=args.min_score,
        top_k=args.top_k,
        masks=Path(args.masks) if args.masks else None,
        questions=questions,
    )
    if drawer.items_have_files:  # known before the first picture, not after half of them
        missing = [item for item in items if item not in sources.files]
        if missing:
            shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
            raise FileNotFoundError(f"{args.images}: no file for {len(missing)} of the run's items: {shown}")
    truth = reference.ground_truth if reference is not None else None
    chosen = {item: parsed[item] for item in items}
    for item, picture in render(spec, chosen, truth, sources):
        save_png(picture, targets[item])
    print(f"{len(targets)} pictures in {out}")
    return 0
