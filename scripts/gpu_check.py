"""GPU check: the suite's training and retrieval speed on one GPU, in one command, partial results kept.

    bash scripts/gpu_check.sh                        # on the GPU machine: writes $OUT/gpu_check.{json,md}
    bash scripts/gpu_check.sh --device cpu --tiny    # the dry run (tests/test_gpu_check.py), under a minute

From a fresh copy of the repository it first installs what this Python lacks of the suite's requirements
from the wheels in `.whl/` (`make gpu-wheels`; `pip install --no-index --no-deps --target`, so the
machine's torch is never touched) and puts them and `src/` on the path. Then it runs its stages, each
in a forked process under its own time limit:

    environment      device, driver, torch / CUDA / cuDNN and library versions
    train:<task>     drawnui, caption, vqa, tbct: images/s of the suite's LightningModule under a Lightning
                     Trainer and in a plain PyTorch loop (same module, data module, precision), bf16 and
                     fp32, GPU busy, loader wait and peak memory, on synthetic data at the real configs'
                     image and batch sizes (scripts/bench_train.py)
    retrieval        CLIP ViT-B/32 image embedding (bf16), the time for the 190k-image lifelog collection,
                     exact top-50 query latency with the index on the GPU (scripts/bench_retrieval.py)

Stages are forked, reusing the parent's imports (which leave CUDA uninitialised: torch asks NVML whether
a GPU is there). Should the environment stage find CUDA unusable in a forked process anyway, every stage
is started by `spawn` instead (a fresh interpreter each, a few seconds more per stage).
A stage that fails or overruns its limit records its error in its rows and the run goes on; the JSON
and Markdown files are rewritten after every stage, so a run cut off keeps what it measured. The table
is printed at the end; the exit status is 1 if any row has an error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

# torch.cuda.is_available() then asks NVML, not the CUDA driver: whatever calls it in this process leaves
# CUDA uninitialised for the stage processes (set before anything imports torch)
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")

import gpu_wheels  # noqa: E402  (stdlib only: it runs before the suite's requirements are installed)

TASKS = ("drawnui", "caption", "vqa", "tbct")  # the region (detector), caption, VQA and TB experiments
PRECISIONS = ("bf16-mixed", "32-true")
# Seconds per stage on the GPU; the whole run, wheels and start-up included, stays under 8 minutes.
LIMITS = {"environment": 40, "train": 90, "retrieval": 50}
TINY_LIMITS = {"environment": 300, "train": 300, "retrieval": 300}  # generous: a loaded 2-core CPU machine


def expected_rows(stage: str) -> list[tuple[str, str]]:
    """(section, key) of every row the stage must produce."""
    if stage == "environment":
        return [("environment", "environment")]
    if stage.startswith("train:"):
        task = stage.split(":", 1)[1]
        return [("training", f"{task} {precision}") for precision in PRECISIONS]
    return [("retrieval", "clip embedding"), ("retrieval", "clip query")]


def _run_child(stage: str, settings: Any, rows_path: Path) -> None:
    """The forked stage: its own process group (so a timeout also ends its loader workers), rows appended
    to rows_path as they come."""
    os.setpgrp()
    import gpu_check_stages

    def emit(row: dict[str, Any]) -> None:
        with rows_path.open("a") as handle:
            handle.write(json.dumps(row | {"stage": stage}) + "\n")

    try:
        gpu_check_stages.run(stage, settings, emit)
    except BaseException as error:
        with rows_path.open("a") as handle:
            handle.write(json.dumps({"stage": stage, "stage_error": _error_text(error)}) + "\n")
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(1)
    sys.stdout.flush()
    os._exit(0)


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip()[:2000]


def run_stage(stage: str, settings: Any, limit_s: float, rows_path: Path, start_method: str = "fork") -> dict[str, Any]:
    """Runs one stage in a child process, killed (its process group) after limit_s seconds.

    Args:
        start_method: "fork" reuses the parent's imports (no start-up per stage); "spawn" starts a fresh
            interpreter, which CUDA needs if anything in the parent initialised it.
    """
    context = multiprocessing.get_context(start_method)
    process = context.Process(target=_run_child, args=(stage, settings, rows_path), name=f"gpu_check {stage}")
    start = time.perf_counter()
    process.start()
    process.join(limit_s)
    status, error = "ok", None
    if process.is_alive():
        status, error = "timeout", f"stage stopped at its limit of {limit_s:.0f} s"
    with contextlib.suppress(ProcessLookupError):  # the stage, or loader workers it left, if any are left
        os.killpg(process.pid, signal.SIGKILL)
    process.join()
    if status == "ok" and process.exitcode != 0:
        status, error = "error", f"stage process exited with {process.exitcode}"
    return {
        "stage": stage,
        "status": status,
        "seconds": time.perf_counter() - start,
        "limit_s": limit_s,
        "error": error,
    }


def collect_rows(stages: list[dict[str, Any]], rows_path: Path) -> list[dict[str, Any]]:
    """The rows the stages wrote, with an error row for each expected row a stage did not produce."""
    written = []
    for line in rows_path.read_text().splitlines() if rows_path.exists() else []:
        with contextlib.suppress(json.JSONDecodeError):  # the last line of a stage killed while writing it
            written.append(json.loads(line))
    rows = []
    for stage in stages:
        own = [row for row in written if row["stage"] == stage["stage"]]
        stage_errors = [row["stage_error"] for row in own if "stage_error" in row]
        by_key = {row["key"]: row for row in own if "key" in row}
        for section, key in expected_rows(stage["stage"]):
            row = by_key.get(key)
            if row is None:
                reason = stage_errors[0] if stage_errors else stage["error"] or "the stage produced no row"
                row = {"stage": stage["stage"], "key": key, "error": reason}
            row = {"section": section, "status": "error" if row.get("error") else "ok", **row}
            rows.append(row)
    return rows


def _cell(value: Any, spec: str = "", suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{format(value, spec)}{suffix}"


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables (docs/performance.md takes them as they are)."""
    rows = report["rows"]
    env = next((row for row in rows if row["section"] == "environment"), {})
    lines = ["# GPU check", ""]
    settings = report["settings"]
    lines.append(
        f"{report['started']}; device {env.get('device', 'n/a')}, driver {env.get('driver') or 'n/a'}; "
        f"torch {env.get('torch', 'n/a')} (CUDA {env.get('torch_cuda') or 'n/a'}, cuDNN {env.get('cudnn') or 'n/a'}); "
        f"lightning {env.get('versions', {}).get('lightning', 'n/a')}; Python {env.get('python', 'n/a')}; "
        f"{env.get('cpus', 'n/a')} CPUs; "
        f"{'dry run (--tiny, demo-scale)' if settings['tiny'] else 'real-data configs on synthetic data'}; "
        f"{settings['steps']} timed steps after {settings['warmup']} warm-up steps; "
        f"wheels installed: {', '.join(report['wheels']['installed']) or 'none needed'}; "
        f"requirement conflicts: {'; '.join(report['wheels'].get('conflicts') or []) or 'none'}; "
        f"{report['seconds']:.0f} s in all."
    )
    lines += [
        "",
        "## Training: the suite's Trainer vs a plain PyTorch loop (same module, data and precision)",
        "",
        "suite / plain: the suite's step time over the plain loop's (above 1.05: the Trainer costs more than 5 %). "
        "GPU busy: share of the wall time between each step's first and last GPU work (CUDA events). "
        "Loader wait: share of the wall time spent waiting for the next batch.",
        "",
        "| task | module (M params) | input | batch | workers | precision | suite img/s | plain img/s | suite / plain "
        "| GPU busy suite, plain | loader wait suite, plain | peak GiB suite, plain | error |",
        "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in (row for row in rows if row["section"] == "training"):
        lines.append(
            f"| {row.get('task', row['key'].split()[0])} "
            f"| {row.get('model', 'n/a')} ({_cell(row.get('parameters_m'), '.1f')}) | {row.get('input', 'n/a')} "
            f"| {_cell(row.get('batch'))} | {_cell(row.get('workers'))} "
            f"| {row.get('precision', row['key'].split()[-1])} "
            f"| {_cell(row.get('suite_images_per_s'), '.1f')} | {_cell(row.get('plain_images_per_s'), '.1f')} "
            f"| {_cell(row.get('suite_over_plain'), '.3f')} "
            f"| {_cell(row.get('suite_gpu_busy'), '.0%')}, {_cell(row.get('plain_gpu_busy'), '.0%')} "
            f"| {_cell(row.get('suite_loader_wait'), '.0%')}, {_cell(row.get('plain_loader_wait'), '.0%')} "
            f"| {_cell(row.get('suite_peak_gib'), '.2f')}, {_cell(row.get('plain_peak_gib'), '.2f')} "
            f"| {row.get('error') or ''} |"
        )
    lines += ["", "## Lifelog retrieval", "", "| measurement | setting | value | peak GiB | error |"]
    lines.append("| --- | --- | ---: | ---: | --- |")
    for row in (row for row in rows if row["section"] == "retrieval"):
        if row["key"] == "clip embedding":
            value = (
                f"{_cell(row.get('images_per_s'), '.0f')} images/s; 190k images in "
                f"{_cell(row.get('collection_seconds'), '.0f')} s"
            )
            name = f"image embedding ({row.get('model', 'n/a')})"
        else:
            value = (
                f"{_cell(row.get('single_ms'), '.2f')} ms median one at a time; "
                f"{_cell(row.get('batched_ms_per_query'), '.3f')} ms per query batched"
            )
            name = "top-50 query"
        lines.append(
            f"| {name} | {row.get('setting', 'n/a')} | {value} | {_cell(row.get('peak_gib'), '.2f')} "
            f"| {row.get('error') or ''} |"
        )
    lines += [
        "",
        "## Stages",
        "",
        "| stage | status | seconds | limit s | error |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for stage in report["stages"]:
        lines.append(
            f"| {stage['stage']} | {stage['status']} | {stage['seconds']:.1f} | {stage['limit_s']:.0f} "
            f"| {stage['error'] or ''} |"
        )
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: dict[str, Any]) -> None:
    """gpu_check.json and gpu_check.md, each replaced whole (a reader never sees half a file)."""
    for name, text in (
        ("gpu_check.json", json.dumps(report, indent=1)),
        ("gpu_check.md", render_markdown(report)),
    ):
        partial = out / f".{name}.partial"
        partial.write_text(text)
        os.replace(partial, out / name)


def install_requirements(wheel_dir: Path, site: Path) -> dict[str, Any]:
    """Installs what this Python lacks from wheel_dir into site; puts site and src/ first on the path."""
    start = time.perf_counter()
    installed: list[str] = []
    error = None
    try:
        installed = gpu_wheels.install_missing(wheel_dir, site)
    except RuntimeError as failure:
        error = str(failure)
    paths = [str(site)] if installed else []
    paths.append(str(REPO / "src"))
    sys.path[:0] = paths
    # loader workers are forked and inherit sys.path; anything spawned (a subprocess) reads PYTHONPATH
    os.environ["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])])
    importlib.invalidate_caches()
    try:
        conflicts = gpu_wheels.conflicts()
    except ImportError as failure:  # no `packaging`: the check is advice, the run goes on
        conflicts = [f"not checked: {failure}"]
    return {
        "installed": installed,
        "conflicts": conflicts,
        "site": str(site) if installed else None,
        "seconds": time.perf_counter() - start,
        "error": error,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: $OUT, else ./gpu_check_out)")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--tiny", action="store_true", help="dry run: demo-scale models and data, one step")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per loop (default 20; tiny 1)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 5; tiny 0)")
    parser.add_argument("--limit-scale", type=float, default=1.0, help="multiplies every stage's time limit")
    parser.add_argument(
        "--start-method",
        choices=["fork", "spawn"],
        default=None,
        help="stage processes (default: cuda spawn, cpu fork)",
    )
    parser.add_argument("--wheels", type=Path, default=REPO / ".whl")
    parser.add_argument("--site", type=Path, default=Path(tempfile.gettempdir()) / "gpu_check_site")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "gpu_check_data")
    args = parser.parse_args(argv)
    tasks = [task for task in args.tasks.split(",") if task]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown tasks {unknown}: choose from {','.join(TASKS)}")
    out = args.out or Path(os.environ.get("OUT") or "gpu_check_out")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "settings": {
            "device": args.device,
            "tiny": args.tiny,
            "tasks": tasks,
            "steps": args.steps or (1 if args.tiny else 20),
            "warmup": (0 if args.tiny else 5) if args.warmup is None else args.warmup,
        },
        "wheels": install_requirements(args.wheels, args.site),
        "stages": [],
        "rows": [],
        "seconds": 0.0,
    }
    print(f"gpu_check: wheels installed: {report['wheels']['installed'] or 'none needed'}", flush=True)
    for conflict in report["wheels"]["conflicts"]:
        print(f"gpu_check: requirement conflict: {conflict}", flush=True)
    stage_names = ["environment", *(f"train:{task}" for task in tasks), "retrieval"]
    rows_path = out / ".gpu_check_rows.jsonl"
    rows_path.unlink(missing_ok=True)
    limits = TINY_LIMITS if args.tiny else LIMITS
    start_method = args.start_method
    try:
        import gpu_check_stages  # torch, Lightning, Hydra and the suite: after the install above
    except Exception as error:  # every stage would fail the same way: say so in each of their rows
        message = f"cannot import the measurements: {_error_text(error)}; {report['wheels']['error'] or ''}"
        report["stages"] = [
            {"stage": name, "status": "error", "seconds": 0.0, "limit_s": 0.0, "error": message} for name in stage_names
        ]
        report["rows"] = collect_rows(report["stages"], rows_path)
        write_report(out, report)
        print(render_markdown(report))
        return 1
    settings = gpu_check_stages.Settings(
        device=args.device,
        tiny=args.tiny,
        steps=report["settings"]["steps"],
        warmup=report["settings"]["warmup"],
        work_dir=args.work_dir,
    )
    for name in stage_names:
        limit = limits[name.split(":")[0]] * args.limit_scale
        print(f"gpu_check: stage {name} (limit {limit:.0f} s)", flush=True)
        stage = run_stage(name, settings, limit, rows_path, start_method)
        if name == "environment" and stage["status"] != "ok" and args.device == "cuda" and start_method == "fork":
            print("gpu_check: the environment stage failed in a forked process: stages start by spawn now", flush=True)
            rows_path.unlink(missing_ok=True)
            start_method = "spawn"
            stage = run_stage(name, settings, limit, rows_path, start_method)
        report["settings"]["start_method"] = start_method
        report["stages"].append(stage)
        report["rows"] = collect_rows(report["stages"], rows_path)
        report["seconds"] = time.perf_counter() - started
        write_report(out, report)
    markdown = render_markdown(report)
    print(markdown)
    print(f"gpu_check: wrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'}")
    return 0 if all(row["status"] == "ok" for row in report["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
