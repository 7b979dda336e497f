"""`baselines sweep-summary DIR [--json]`: the jobs of a multirun (`baselines train -m ...`, an Optuna
sweep, a submitit launch), best first.

Each job folder `DIR/<n>/` holds Hydra's `.hydra/overrides.yaml` and the run's `summary.json` (written by
the task function: the monitored validation metric, the test scores). A job without `summary.json`
failed or is still running; it is listed last. The overrides shown are those that differ between jobs
(the swept parameters).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

HELP = "table of a multirun's jobs (overrides, monitored metric, test scores), best first"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="the multirun folder (hydra.sweep.dir)")
    parser.add_argument("--json", action="store_true", help="print the jobs as JSON")


def _job(folder: Path) -> dict[str, Any]:
    import yaml

    overrides = yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text()) or []
    summary_path = folder / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    return {"job": folder.name, "dir": str(folder), "overrides": [str(o) for o in overrides], "summary": summary}


def _value(job: dict[str, Any]) -> float | None:
    monitor = (job["summary"] or {}).get("monitor") or {}
    value = monitor.get("value")
    return None if value is None or math.isnan(value) else float(value)


def _ordered(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    modes = {((j["summary"] or {}).get("monitor") or {}).get("mode") for j in jobs if _value(j) is not None}
    sign = -1.0 if modes == {"max"} else 1.0
    scored = sorted((j for j in jobs if _value(j) is not None), key=lambda j: (sign * _value(j), int(j["job"])))  # type: ignore[operator]
    return scored + [j for j in jobs if _value(j) is None]


def _primary(summary: dict[str, Any]) -> tuple[str, float] | None:
    from baselines.tasks import get_task

    scores = summary.get("scores") or {}
    try:
        name = get_task(summary["task"]).primary_metric
    except KeyError:
        return None
    return (name, scores[name]) if isinstance(scores.get(name), int | float) else None


def _format(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    import yaml

    folder: Path = args.dir
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such multirun folder")
    found = [p for p in folder.iterdir() if p.name.isdigit() and (p / ".hydra" / "overrides.yaml").is_file()]
    if not found:
        raise ValueError(f"{folder}: no job folders (<n>/.hydra/overrides.yaml): not a Hydra multirun folder")
    jobs = _ordered([_job(p) for p in sorted(found, key=lambda p: int(p.name))])
    common = set.intersection(*(set(j["overrides"]) for j in jobs))
    for job in jobs:
        job["swept"] = [o for o in job["overrides"] if o not in common]
    optuna_path = folder / "optimization_results.yaml"
    optuna = yaml.safe_load(optuna_path.read_text()) if optuna_path.is_file() else None
    if args.json:
        print(json.dumps({"dir": str(folder), "jobs": jobs, "optuna": optuna}, indent=2, default=str))
        return 0

    monitor = next(((j["summary"] or {}).get("monitor") for j in jobs if j["summary"]), None) or {}
    metric = str(monitor.get("name") or "monitor")
    primaries = [_primary(j["summary"]) if j["summary"] else None for j in jobs]
    test = next((f"test {p[0]}" for p in primaries if p), None)
    header = ["job", metric, *([test] if test else []), "overrides"]
    rows = []
    for job, primary in zip(jobs, primaries, strict=True):
        status = _format(_value(job)) if job["summary"] else "no summary (failed or running)"
        cells = [job["job"], status, *([_format(primary[1] if primary else None)] if test else [])]
        rows.append([*cells, " ".join(job["swept"])])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    print(f"{folder}: {len(jobs)} jobs, {metric} ({monitor.get('mode', '?')}), best first")
    for row in [header, *rows]:
        print("  ".join(f"{c:<{w}}" for c, w in zip(row[:-1], widths, strict=True)) + "  " + str(row[-1]))
    if optuna and "best_value" in optuna:
        params = " ".join(f"{k}={v}" for k, v in (optuna.get("best_params") or {}).items())
        print(f"optuna best: {metric}={optuna['best_value']:.4f} {params}")
    return 0
