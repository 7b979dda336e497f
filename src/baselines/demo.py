"""The demo: every task trained briefly on its synthetic data, run file written, validated, scored,
and compared with the same model untrained.

Each task runs in a child process of its own (`python -m baselines.demo --child NAME`), as many at once
as there are cores, each with one torch thread: that uses the cores fully without the overhead of
intra-op threads on tiny tensors. A child's whole output goes to `<out>/<task>/demo.log`; the terminal
shows one line per finished task, then the table, also written to `<out>/summary.md` and `summary.json`.
Tasks that share a synthetic dataset (caption and concepts, VQA and VQG, the two coral tasks) may run side
by side: the first to need it makes it, under a lock, and the others of the same demo run reuse it
(`make_data_once`), so no task reads a file another one is rewriting.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import math
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from baselines.config import compose_config, config_dir

log = logging.getLogger(__name__)

# Longest first, so that the last tasks to start are the short ones (by the CPU time of the last run).
ORDER = ("coral_polygons", "drawnui", "coral_boxes", "tbct", "caption", "concepts", "vqa", "vqg", "lmrt", "spll")


@dataclass
class DemoResult:
    name: str
    metric: str = ""
    trained: float = float("nan")
    untrained: float = float("nan")
    run_file: str = ""
    log_file: str = ""
    overlay: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    error: str = ""
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


def demo_names() -> list[str]:
    known = sorted(p.stem for p in (config_dir() / "demo").glob("*.yaml"))
    return sorted(known, key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))


def demo_overrides(name: str, out: str | Path, overrides: Sequence[str] = ()) -> list[str]:
    """The overrides of one demo: `experiment=<name> +demo=<name>` writing under out/."""
    out = Path(out).resolve()
    return [
        f"experiment={name}",
        f"+demo={name}",
        f"paths.root_dir={out}",
        f"paths.output_dir={out}/{name}",
        "overwrite=true",
        *overrides,
    ]


def make_data_once(root: Path, settings: str, make: Callable[[], object]) -> bool:
    """Runs make() to write the dataset at root unless it was made already with these settings.

    Holds an exclusive lock (the file `.<name>.lock` beside root) meanwhile, so a task that starts while another is
    making the same dataset waits for it and then reuses it. settings (the demo run's token and the
    resolved generator config) are recorded in `<root>/.made`; another run or other settings make it anew.

    Returns:
        True if make() ran, False if the dataset was reused (logged).
    """
    from baselines.io.atomic import atomic_write_text

    root.parent.mkdir(parents=True, exist_ok=True)
    marker = root / ".made"
    with (root.parent / f".{root.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if marker.is_file() and marker.read_text() == settings:
            log.info("synthetic data %s: made already by this demo run with the same settings, reused", root)
            return False
        marker.unlink(missing_ok=True)
        make()
        atomic_write_text(marker, settings)
        return True


def run_one(name: str, out: str | Path, overrides: Sequence[str] = (), data_token: str = "") -> DemoResult:
    """Generates the task's synthetic data (once per data_token: `make_data_once`), scores the untrained
    model, trains, predicts and scores."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from baselines.pipeline import run
    from baselines.tasks import get_task

    start = time.perf_counter()
    result = DemoResult(name)
    trained = demo_overrides(name, out, overrides)
    cfg = compose_config("train", trained)
    token = data_token or uuid.uuid4().hex  # no token: this task's data are its own
    settings = json.dumps([token, OmegaConf.to_container(cfg.synthetic, resolve=True)], sort_keys=True)
    make_data_once(Path(cfg.synthetic.root), settings, lambda: instantiate(cfg.synthetic))
    spec = get_task(cfg.task)
    result.metric = spec.primary_metric
    suffix = Path(cfg.callbacks.run_file_writer.output_path).suffix  # the task's own: tbct.csv -> untrained.csv
    untrained_run = f"callbacks.run_file_writer.output_path={Path(out).resolve()}/{name}/runs/untrained{suffix}"
    # the same model, never trained: the floor each trained score is read against (no training, one predict)
    untrained = demo_overrides(name, out, [*overrides, "train=false", "allow_untrained=true", untrained_run])
    result.untrained = run(compose_config("train", untrained), untrained)["scores"].get(spec.primary_metric, math.nan)
    summary = run(cfg, trained)
    result.scores = summary["scores"]
    result.trained = result.scores.get(spec.primary_metric, math.nan)
    result.run_file = summary["run_file"] or ""
    result.overlay = _overlay(cfg, spec, result.run_file, Path(out))
    result.seconds = time.perf_counter() - start
    return result


def _overlay(cfg: Any, spec: Any, run_file: str, out: Path) -> str:
    """One picture of the trained model's first test item (drawn as `baselines draw` draws it), as
    `<out>/overlays/<task>.png`; "" for a task without pictures (SPLL) or if drawing fails (logged: the demo's
    scores stand anyway)."""
    from baselines.visual.drawing import draw_run
    from baselines.visual.views import drawer_for

    try:
        drawer_for(spec)
    except ValueError:
        return ""
    data = cfg.data
    images = next((data[key] for key in ("predict_images", "predict_cts", "images") if data.get(key)), None)
    ground_truth = cfg.get("evaluation", {}).get("ground_truth")
    try:
        drawn = draw_run(
            spec,
            run_file,
            str(images),
            out / cfg.task / "overlay",
            ground_truth=str(ground_truth) if ground_truth else None,
            masks=str(data.predict_masks) if data.get("predict_masks") else None,
            limit=1,
            overwrite=True,
        )
    except (OSError, KeyError, ValueError) as exc:  # what `baselines draw` reports as bad input (FormatError too)
        log.warning("demo %s: no overlay drawn (%s)", spec.name, exc)
        return ""
    if not drawn.pictures:
        log.warning("demo %s: no overlay drawn", spec.name)
        return ""
    target = out / "overlays" / f"{spec.name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    drawn.pictures[0].replace(target)
    return str(target)


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _child(name: str, out: Path, threads: int, overrides: Sequence[str], data_token: str) -> int:
    """Runs one demo in this process (its own log) and writes `<out>/<name>/result.json`."""
    import torch

    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", force=True)
    logging.captureWarnings(True)
    try:
        result = run_one(name, out, overrides, data_token)
    except Exception as exc:  # one failing task must not hide the others' results
        log.exception("demo %s failed", name)
        result = DemoResult(name, error=f"{type(exc).__name__}: {exc}")
    result.cpu_seconds = _cpu_seconds(resource.RUSAGE_SELF) + _cpu_seconds(resource.RUSAGE_CHILDREN)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(json.dumps(asdict(result), indent=2, default=str) + "\n")
    return 0 if result.ok else 1


def run_demo(
    names: Sequence[str] | None = None,
    out: str | Path = "demo_out",
    extra_overrides: Sequence[str] = (),
    jobs: int | None = None,
) -> list[DemoResult]:
    """Runs the chosen demos (all by default), `jobs` at a time (default: one per core), and reports them."""
    known = demo_names()
    chosen = [n for n in known if n in names] if names else known
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise KeyError(f"unknown demo(s) {unknown}; known: {known}")
    out = Path(out).resolve()
    jobs = max(1, jobs or os.cpu_count() or 1)
    start = time.perf_counter()
    data_token = uuid.uuid4().hex  # the children of this run share each synthetic dataset (make_data_once)
    waiting = list(chosen)
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    results: dict[str, DemoResult] = {}
    print(f"demo: {len(chosen)} tasks, {jobs} at a time; each task's log: {out}/<task>/demo.log", flush=True)
    while waiting or running:
        while waiting and len(running) < jobs:
            name = waiting.pop(0)
            (out / name).mkdir(parents=True, exist_ok=True)
            (out / name / "result.json").unlink(missing_ok=True)
            command = [sys.executable, "-m", "baselines.demo", "--child", name, "--out", str(out), "--threads", "1"]
            command += ["--data-token", data_token]
            with (out / name / "demo.log").open("w") as log_file:
                process = subprocess.Popen(
                    [*command, "--", *extra_overrides], stdout=log_file, stderr=subprocess.STDOUT
                )
            running[name] = (process, time.perf_counter())
        time.sleep(0.2)
        for name, (process, began) in list(running.items()):
            if process.poll() is None:
                continue
            del running[name]
            results[name] = _collect(name, out, process.returncode, time.perf_counter() - began)
            print(_progress_line(len(results), len(chosen), results[name]), flush=True)
    ordered = [results[name] for name in chosen]
    wall = time.perf_counter() - start
    table = format_table(ordered, wall)
    print("\n" + table)
    _write_summary(ordered, out, wall, table)
    return ordered


def _collect(name: str, out: Path, returncode: int, seconds: float) -> DemoResult:
    path = out / name / "result.json"
    if path.is_file():
        result = DemoResult(**json.loads(path.read_text()))
    else:
        result = DemoResult(name, error=f"the demo process ended with status {returncode} and no result")
    result.seconds = seconds
    result.log_file = str(out / name / "demo.log")
    return result


def _progress_line(done: int, total: int, r: DemoResult) -> str:
    if r.error:
        return f"[{done}/{total}] {r.name:<15} FAILED after {r.seconds:.0f} s: {r.error} (see {r.log_file})"
    return (
        f"[{done}/{total}] {r.name:<15} {r.metric} {r.trained:.3f} (untrained {r.untrained:.3f}) "
        f"in {r.seconds:.0f} s, {r.cpu_seconds:.0f} CPU-s"
    )


def format_table(results: Sequence[DemoResult], wall: float | None = None) -> str:
    header = "| task | metric | trained | untrained | seconds | CPU-s | run file (validated) | overlay | log |"
    lines = [header, "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for r in results:
        if r.error:
            failed = f"| {r.name} | FAILED: {r.error} | | | {r.seconds:.0f} | {r.cpu_seconds:.0f} | | | {r.log_file} |"
            lines.append(failed)
        else:
            lines.append(
                f"| {r.name} | {r.metric} | {r.trained:.3f} | {r.untrained:.3f} | {r.seconds:.0f} | "
                f"{r.cpu_seconds:.0f} | {r.run_file} | {r.overlay} | {r.log_file} |"
            )
    total_cpu = sum(r.cpu_seconds for r in results)
    if wall is not None:
        lines.append(f"\n{len(results)} tasks in {wall:.0f} s wall time, {total_cpu:.0f} CPU-seconds in all")
    return "\n".join(lines)


def _write_summary(results: Sequence[DemoResult], out: Path, wall: float, table: str) -> None:
    from baselines.io.atomic import atomic_write_text

    atomic_write_text(out / "summary.md", "# Demo\n\n" + table + "\n")
    record = {
        "wall_seconds": wall,
        "cpu_seconds": sum(r.cpu_seconds for r in results),
        "tasks": [{**asdict(r), "ok": r.ok} for r in results],
    }
    atomic_write_text(out / "summary.json", json.dumps(record, indent=2, default=str) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one demo task in this process (used by `baselines demo`)")
    parser.add_argument("--child", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-token", default="", help="the demo run whose synthetic data may be reused")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    return _child(args.child, args.out.resolve(), args.threads, args.overrides, args.data_token)


if __name__ == "__main__":
    sys.exit(main())
