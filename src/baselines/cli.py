"""`baselines` command line.

baselines train    experiment=drawnui [hydra overrides...]
baselines predict  experiment=drawnui ckpt_path=... [overrides...]
baselines validate --task drawnui RUNFILE [--ground-truth GT] [--images DIR]
baselines evaluate --task drawnui RUNFILE --ground-truth GT [--images DIR]
baselines demo     [--tasks drawnui,...] [--out demo_out]
baselines tasks
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from baselines.errors import FormatError


def _hydra_command(command: str, argv: Sequence[str]) -> int:
    from baselines import train

    # Hydra reads sys.argv; DDP re-runs it for the other ranks, so argv[0] must be the matching
    # console script (baselines-train / baselines-predict) next to this interpreter when installed.
    script = Path(sys.argv[0]).with_name(f"baselines-{command}")
    sys.argv = [str(script if script.is_file() else shutil.which(f"baselines-{command}") or script), *argv]
    (train.main if command == "train" else train.predict_main)()
    return 0


def _reference(args: argparse.Namespace):
    from baselines.tasks import get_task

    spec = get_task(args.task)
    reference = spec.load_reference(args.ground_truth, args.images)
    if getattr(args, "subsets", None):
        reference = spec.with_subsets(reference, args.subsets)
    return spec, reference


def _validate(args: argparse.Namespace) -> int:
    spec, reference = _reference(args)
    spec.parse_run(args.run_file, reference)
    print(f"{args.run_file}: valid {spec.name} run file")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    spec, reference = _reference(args)
    scores = spec.evaluate_file(args.run_file, reference)
    if args.json:
        print(json.dumps(scores, indent=2, sort_keys=True))
    else:
        width = max(len(k) for k in scores)
        for key, value in scores.items():
            marker = "  (primary)" if key == spec.primary_metric else ""
            print(f"{key:<{width}}  {value:.4f}{marker}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from baselines.demo import run_demo

    tasks = args.tasks.split(",") if args.tasks else None
    results = run_demo(tasks, args.out, extra_overrides=args.overrides)
    return 0 if all(r.ok for r in results) else 1


def _tasks(args: argparse.Namespace) -> int:
    from baselines.tasks import get_task, task_names

    for name in task_names():
        spec = get_task(name)
        print(f"{name:<16} primary metric {spec.primary_metric:<12} classes {len(spec.classes)}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baselines", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train", help="train (and predict, validate, score): Hydra overrides follow")
    sub.add_parser("predict", help="run file from a checkpoint: Hydra overrides follow")
    for name, helptext in (("validate", "check a run file, line by line"), ("evaluate", "score a run file")):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("--task", required=True)
        cmd.add_argument("run_file")
        cmd.add_argument("--ground-truth", "--gt", dest="ground_truth", default=None)
        cmd.add_argument("--images", default=None, help="folder of the test images (ids and sizes)")
        if name == "evaluate":
            cmd.add_argument("--json", action="store_true")
            cmd.add_argument("--subsets", default=None, help="file of 'image_id subset' lines: per-subset scores")
    demo = sub.add_parser("demo", help="every task on synthetic data: train, predict, validate, score")
    demo.add_argument("--tasks", default=None, help="comma-separated demo names (default: all)")
    demo.add_argument("--out", default="demo_out")
    demo.add_argument("overrides", nargs="*", help="extra Hydra overrides for every task")
    sub.add_parser("tasks", help="list the registered tasks")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("train", "predict"):
        return _hydra_command(argv[0], argv[1:])
    args = _parser().parse_args(argv)
    handlers = {"validate": _validate, "evaluate": _evaluate, "demo": _demo, "tasks": _tasks}
    try:
        return handlers[args.command](args)
    except FormatError as exc:
        print(f"invalid input ({len(exc.problems) + exc.truncated} problems):\n{exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
