"""`baselines compare --task T RUN1 RUN2 ... --gt GT [--images X] [--resamples N] [--seed S] [--json]`.

Each run's scores with bootstrap confidence intervals over the test items, and paired-bootstrap
p-values of each run against the first (definitions: baselines.evaluation.bootstrap).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from baselines.commands._reference import load, printed_warnings

HELP = "compare run files: scores with bootstrap 95% intervals and paired p-values against the first run"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="a registered task (baselines tasks)")
    parser.add_argument("run_files", nargs="+", metavar="RUN", help="run files; the first is the one compared against")
    parser.add_argument(
        "--ground-truth", "--gt", dest="ground_truth", required=True, help="the split's official ground-truth file"
    )
    parser.add_argument("--images", default=None, help="as for evaluate: what the runs must cover")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    parser.add_argument("--confidence", type=float, default=0.95, help="interval coverage (default 0.95)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")


def run(args: argparse.Namespace) -> int:
    from baselines.evaluation.bootstrap import compare_runs

    with printed_warnings():
        spec, reference = load(args)
        parsed = [spec.parse_run(path, reference) for path in args.run_files]
    result = compare_runs(spec, parsed, reference, args.resamples, args.seed, args.confidence)
    result["task"] = spec.name
    result["primary_metric"] = spec.primary_metric
    for entry, path in zip(result["runs"], args.run_files, strict=True):
        entry["run_file"] = path
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=True))
    else:
        print(_table(result))
    return 0


def _table(result: dict[str, Any]) -> str:
    percent = round(result["confidence"] * 100)
    lines = [
        f"{result['task']}: {result['items']} test items, {result['resamples']} bootstrap resamples "
        f"(seed {result['seed']}); p: {result['p_value']}"
    ]
    names = [entry["run_file"] for entry in result["runs"]]
    width = max(len("run"), *(len(name) for name in names))
    for metric in result["metrics"]:
        marker = " (primary)" if metric == result["primary_metric"] else ""
        lines.append("")
        lines.append(f"{metric}{marker}")
        lines.append(f"  {'run':<{width}}  {'value':>8}  {f'{percent}% interval':>20}  {'vs first':>9}  {'p':>6}")
        for name, entry in zip(names, result["runs"], strict=True):
            score = entry["scores"][metric]
            interval = f"[{_fmt(score['low'])}, {_fmt(score['high'])}]"
            versus = entry.get("versus_first", {}).get(metric)
            difference = f"{versus['difference']:+.4f}" if versus else ""
            p_value = _fmt(versus["p_value"]) if versus else ""
            undefined = f"  ({score['undefined']} resamples undefined)" if score["undefined"] else ""
            value = _fmt(score["value"])
            lines.append(f"  {name:<{width}}  {value:>8}  {interval:>20}  {difference:>9}  {p_value:>6}{undefined}")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4f}"
