"""`baselines evaluate --task T RUN --gt GT [--images DIR] [--subsets FILE] [--json] [--plots DIR]`: score a run.

With --plots, the task's plots (baselines.visual.plots) are written too.
"""

from __future__ import annotations

import argparse
import json
import sys

from baselines.commands._reference import add_reference_arguments, load, printed_warnings

HELP = "score a run file as the official evaluator does"


def configure(parser: argparse.ArgumentParser) -> None:
    add_reference_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--subsets", default=None, help="file of 'image_id subset' lines: per-subset scores")
    parser.add_argument(
        "--plots", default=None, metavar="DIR", help="also write PR curves / confusion matrices (PNG) into DIR"
    )


def run(args: argparse.Namespace) -> int:
    if args.ground_truth is None:
        raise ValueError("evaluate needs --gt: the ground truth of the split the run was made for")
    with printed_warnings():
        spec, reference = load(args)
        parsed = spec.parse_run(args.run_file, reference)
        scores = spec.score(parsed, reference)
    if args.json:
        print(json.dumps(scores, indent=2, sort_keys=True))
    else:
        width = max(len(k) for k in scores)
        for key, value in scores.items():
            marker = "  (primary)" if key == spec.primary_metric else ""
            print(f"{key:<{width}}  {value:.4f}{marker}")
    if args.plots:
        from baselines.visual.plots import write_plots

        written = write_plots(spec, parsed, reference, args.plots)
        message = ", ".join(str(path) for path in written) or f"none: task {spec.name} has no plots yet"
        print(f"plots: {message}", file=sys.stderr if args.json else sys.stdout)
    return 0
