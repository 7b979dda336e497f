"""`baselines demo [--tasks a,b] [--out DIR] [overrides...]`: every task on synthetic data."""

from __future__ import annotations

import argparse

HELP = "every task on synthetic data: train, predict, validate, score"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", default=None, help="comma-separated demo names (default: all)")
    parser.add_argument("--out", default="demo_out")
    parser.add_argument("--jobs", type=int, default=None, help="tasks run at once (default: one per core)")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every task")


def run(args: argparse.Namespace) -> int:
    from baselines.demo import run_demo

    tasks = args.tasks.split(",") if args.tasks else None
    results = run_demo(tasks, args.out, extra_overrides=args.overrides, jobs=args.jobs)
    return 0 if all(r.ok for r in results) else 1
