"""Bootstrap confidence intervals of a task's scores, and paired-bootstrap comparisons of runs.

The test items (images, questions, topics, CTs) are resampled with replacement, and every resample
is scored as the task's own `score` scores the items drawn, so pooled metrics (mAP, AUC, corpus BLEU)
are recomputed over the resample rather than averaged per item. A task with a `resampling` scores
all resamples from per-item arrays computed once (`evaluation.resampling`); the others score each
resample through `restrict`, with the same numbers. Every run is scored on the same resamples (paired),
which is what makes the p-values of differences meaningful.

- Interval: the percentile bootstrap interval, the (1 - confidence) / 2 and (1 + confidence) / 2
  quantiles of the resampled scores (Efron & Tibshirani 1993, ch. 13).
- p-value of run k against the first run: the share of resamples in which the difference
  `score_k - score_first` does not have the sign it has on the whole test set (ties count against
  it); 1 when the two runs score the same on the whole test set. This is the one-sided paired
  bootstrap test of Koehn (2004, "Statistical significance tests for machine translation
  evaluation"): a small value says the observed order of the two runs rarely flips under resampling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from baselines.evaluation.resampling import Resampling

nan = float("nan")

P_VALUE_DEFINITION = (
    "one-sided paired bootstrap: share of resamples where (run - first run) does not have the sign "
    "observed on the whole test set (ties count against); 1 when the runs score the same"
)


class Scored(Protocol):
    """What a bootstrap needs of a task (`baselines.tasks.base.TaskSpec` has it)."""

    name: str

    def scored_items(self, reference: Any) -> list[str]: ...

    def score(self, run: Any, reference: Any) -> dict[str, float]: ...

    def restrict(self, run: Any, reference: Any, ids: Sequence[str]) -> tuple[Any, Any]: ...

    def resampling(self, run: Any, reference: Any, items: Sequence[str]) -> Resampling | None: ...


def compare_runs(
    spec: Scored,
    runs: Sequence[Any],
    reference: Any,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Scores parsed runs on the whole test set and on shared bootstrap resamples of its items.

    Args:
        spec: The task.
        runs: Parsed runs (`spec.parse_run`), all for the same test set.
        reference: The reference with ground truth they are scored against.
        resamples: Number of bootstrap resamples.
        seed: Seed of the numpy Generator that draws them (same seed, same numbers).
        confidence: Coverage of the intervals.

    Returns:
        `items` (test items resampled), `metrics` (in `score`'s order), and `runs`: per run `scores`
        {metric: {value, low, high, undefined}} (`undefined`: resamples where the metric had no value,
        e.g. an AUC whose resample holds one class only) and, from the second run on, `versus_first`
        {metric: {difference, p_value}}.

    Raises:
        ValueError: Without runs, test items, or with resamples < 1.
    """
    if not runs:
        raise ValueError("compare needs at least one run")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    items = spec.scored_items(reference)
    if not items:
        raise ValueError(f"{spec.name}: the ground truth has no test items to resample")
    resamplings = [spec.resampling(run, reference, items) for run in runs]
    # The metrics a resample has: `score` of the whole set restricted to its items (per-subset scores drop out),
    # taken from the resampling when it has them (a region task's matches, computed once).
    full = [
        whole if (whole := _whole(resampling)) is not None else spec.score(*spec.restrict(run, reference, items))
        for run, resampling in zip(runs, resamplings, strict=True)
    ]
    metrics = [key for key in full[0] if all(key in scores for scores in full)]
    rng = np.random.default_rng(seed)
    # one call per resample, as before: a single call for all would draw other numbers from the same seed
    picks = np.stack([rng.integers(0, len(items), len(items)) for _ in range(resamples)])
    draws = np.full((resamples, len(runs), len(metrics)), np.nan)
    for r, run in enumerate(runs):
        draws[:, r] = _resampled_scores(spec, run, resamplings[r], reference, items, picks, metrics)
    tail = (1 - confidence) / 2 * 100
    report: list[dict[str, Any]] = []
    for r in range(len(runs)):
        scores_r: dict[str, Any] = {}
        versus: dict[str, Any] = {}
        for m, metric in enumerate(metrics):
            column = draws[:, r, m]
            defined = column[~np.isnan(column)]
            low, high = (float(v) for v in np.percentile(defined, [tail, 100 - tail])) if defined.size else (nan, nan)
            scores_r[metric] = {
                "value": _number(full[r][metric]),
                "low": low,
                "high": high,
                "undefined": int(resamples - defined.size),
            }
            if r > 0:
                observed = _number(full[r][metric]) - _number(full[0][metric])
                versus[metric] = {
                    "difference": observed,
                    "p_value": _p_value(observed, draws[:, r, m] - draws[:, 0, m]),
                }
        entry: dict[str, Any] = {"scores": scores_r}
        if r > 0:
            entry["versus_first"] = versus
        report.append(entry)
    return {
        "items": len(items),
        "resamples": resamples,
        "seed": seed,
        "confidence": confidence,
        "interval": "percentile bootstrap over the test items",
        "p_value": P_VALUE_DEFINITION,
        "metrics": metrics,
        "runs": report,
    }


def _whole(resampling: Resampling | None) -> dict[str, float] | None:
    return None if resampling is None else resampling.whole()


def _resampled_scores(
    spec: Scored,
    run: Any,
    resampling: Resampling | None,
    reference: Any,
    items: list[str],
    picks: np.ndarray,
    metrics: list[str],
) -> np.ndarray:
    """(resamples, metrics): the run's scores on each row of picks (item indices in draw order)."""
    if resampling is not None:
        arrays = resampling.scores(picks)
        missing = np.full(len(picks), np.nan)  # a metric no resample has (a class never drawn)
        return np.stack([np.asarray(arrays.get(metric, missing), np.float64) for metric in metrics], axis=1)
    out = np.full((len(picks), len(metrics)), np.nan)
    for b, row in enumerate(picks):
        scores = spec.score(*spec.restrict(run, reference, [items[i] for i in row]))
        out[b] = [_number(scores.get(metric)) for metric in metrics]
    return out


def _number(value: Any) -> float:
    return float(value) if value is not None else nan


def _p_value(observed: float, differences: np.ndarray) -> float:
    differences = differences[~np.isnan(differences)]
    if math.isnan(observed) or not differences.size:
        return nan
    if observed > 0:
        return float(np.mean(differences <= 0))
    if observed < 0:
        return float(np.mean(differences >= 0))
    return 1.0
