"""`baselines draw --task T RUN --images DIR --out DIR [--gt GT]`: one PNG per test item of a run.

What is drawn depends on the task (baselines.visual.views): regions on the image (ground truth and
prediction side by side, one colour per class, a legend), text beside the image, an LMRT topic's
contact sheet, a TB CT's slice montage. With --gt the ground truth is drawn too; region tasks draw a
ground-truth file alone when no run file is given (`--gt` read by the task's own ground-truth reader,
e.g. coral's training annotations). How many predictions `--min-score` left out is printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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
    parser.add_argument("--min-score", type=float, default=0.3, help="regions: draw predictions from this confidence")
    parser.add_argument("--top-k", type=int, default=10, help="LMRT: images per topic (default 10)")
    parser.add_argument("--masks", default=None, help="TB: lung-mask folder (else each half of the volume is a lung)")
    parser.add_argument("--questions", default=None, help="VQA: the test questions file, shown with the answers")
    parser.add_argument("--limit", type=int, default=None, help="draw only the first N items of the run")
    parser.add_argument(
        "--longest", type=int, default=None, help="regions: scale images down to this longer side (default: full size)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace PNGs that exist")


def run(args: argparse.Namespace) -> int:
    from baselines.paths import child_path
    from baselines.tasks import get_task
    from baselines.visual.render import save_png
    from baselines.visual.views import Sources, drawer_for, output_name, render

    spec = get_task(args.task)
    drawer = drawer_for(spec)  # a task without pictures fails before anything is read
    if args.run_file is None and not (args.ground_truth and drawer.truth_alone):
        what = "--gt <ground truth>" if drawer.truth_alone else "a run file"
        raise ValueError(f"draw --task {spec.name}: give {what} to draw")
    with printed_warnings():
        reference = spec.load_reference(args.ground_truth, None) if args.ground_truth else None
        parsed = _parse_run(spec, args.run_file, reference) if args.run_file else None
    source = args.run_file or args.ground_truth
    drawn = parsed if parsed is not None else reference.ground_truth if reference is not None else {}
    items = list(drawn)[: args.limit] if args.limit is not None else list(drawn)
    out = Path(args.out)
    # Every output path is checked before anything is drawn: a bad id writes nothing at all.
    targets = {item: child_path(out, output_name(item), source, item) for item in items}
    clashes = len(set(targets.values())) < len(targets)
    if clashes:
        raise ValueError(f"{source}: two ids give the same PNG name once their suffix is replaced")
    if not args.overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise FileExistsError(f"{existing[0]} exists ({len(existing)} in all); pass --overwrite to replace them")
    questions = {}
    if args.questions:
        from baselines.io.formats.vqamed import read_questions

        questions = dict(read_questions(args.questions))
    sources = Sources(
        files=drawer.files(spec, Path(args.images)),
        min_score=args.min_score,
        top_k=args.top_k,
        masks=Path(args.masks) if args.masks else None,
        questions=questions,
        longest=args.longest,
    )
    if drawer.items_have_files:  # known before the first picture, not after half of them
        missing = [item for item in items if item not in sources.files]
        if missing:
            shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
            raise FileNotFoundError(f"{args.images}: no file for {len(missing)} of the run's items: {shown}")
    truth = reference.ground_truth if reference is not None else None
    chosen = {item: parsed[item] if parsed is not None else None for item in items}
    for item, picture in render(spec, chosen, truth, sources):
        save_png(picture, targets[item])
    print(f"{len(targets)} pictures in {out}")
    if parsed is not None and drawer.hidden is not None:
        hidden = sum(drawer.hidden(chosen[item], sources) for item in items)
        total = sum(len(parsed[item]) for item in items)
        print(
            f"{hidden} of {total} predicted regions are below --min-score {args.min_score:g} and not drawn"
            + (" (--min-score 0 draws them all)" if hidden else "")
        )
    return 0


def _parse_run(spec: Any, run_file: str, reference: Any) -> Any:
    """The parsed run; a file the run grammar refuses but the task's ground-truth reader reads (coral's
    training annotations) is refused with a hint to pass it as --gt."""
    from baselines.errors import FormatError, Problem

    try:
        return spec.parse_run(run_file, reference)
    except FormatError as error:
        try:
            spec.load_reference(run_file, None)
        except Exception:
            raise error from None
        hint = f"not a valid run file, but it reads as {spec.name} ground truth: to draw it, give --gt {run_file} alone"
        raise FormatError([Problem(run_file, None, hint), *error.problems], error.truncated) from None
