"""The demo: every task trained briefly on its synthetic data, run file written, validated, scored,
and compared with the same model untrained."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hydra.utils import instantiate

from baselines.config import compose_config, config_dir
from baselines.pipeline import run

log = logging.getLogger(__name__)


@dataclass
class DemoResult:
    name: str
    metric: str = ""
    trained: float = float("nan")
    untrained: float = float("nan")
    run_file: str = ""
    seconds: float = 0.0
    error: str = ""
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


def demo_names() -> list[str]:
    return sorted(p.stem for p in (config_dir() / "demo").glob("*.yaml"))


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


def demo_config(name: str, out: str | Path, overrides: Sequence[str] = ()):
    """The composed config of one demo (see demo_overrides)."""
    return compose_config("train", demo_overrides(name, out, overrides))


def run_one(name: str, out: str | Path, overrides: Sequence[str] = ()) -> DemoResult:
    from baselines.tasks import get_task

    start = time.perf_counter()
    result = DemoResult(name)
    cfg = demo_config(name, out, overrides)
    instantiate(cfg.synthetic)
    spec = get_task(cfg.task)
    result.metric = spec.primary_metric
    untrained = demo_overrides(
        name,
        out,
        [
            *overrides,
            "train=false",
            "allow_untrained=true",
            f"callbacks.run_file_writer.output_path={Path(out).resolve()}/{name}/runs/untrained.txt",
        ],
    )
    result.untrained = run(compose_config("train", untrained), untrained)["scores"].get(
        spec.primary_metric, float("nan")
    )
    summary = run(cfg, demo_overrides(name, out, overrides))
    result.scores = summary["scores"]
    result.trained = result.scores.get(spec.primary_metric, float("nan"))
    result.run_file = summary["run_file"] or ""
    result.seconds = time.perf_counter() - start
    return result


def run_demo(
    names: Sequence[str] | None = None, out: str | Path = "demo_out", extra_overrides: Sequence[str] = ()
) -> list[DemoResult]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    known = demo_names()
    chosen = list(names) if names else known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise KeyError(f"unknown demo(s) {unknown}; known: {known}")
    results = []
    for name in chosen:
        log.info("=== demo %s ===", name)
        try:
            results.append(run_one(name, out, extra_overrides))
        except Exception as exc:  # one failing task must not hide the others' results
            log.exception("demo %s failed", name)
            results.append(DemoResult(name, error=f"{type(exc).__name__}: {exc}"))
    print(format_table(results))
    return results


def format_table(results: Sequence[DemoResult]) -> str:
    header = f"{'task':<16} {'metric':<12} {'trained':>8} {'untrained':>9} {'time':>7}  run file (validated)"
    lines = [header, "-" * len(header)]
    for r in results:
        if r.error:
            lines.append(f"{r.name:<16} FAILED: {r.error}")
        else:
            lines.append(
                f"{r.name:<16} {r.metric:<12} {r.trained:>8.4f} {r.untrained:>9.4f} {r.seconds:>6.0f}s  {r.run_file}"
            )
    return "\n".join(lines)
