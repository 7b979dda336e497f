"""ROC AUC of many bootstrap resamples at once, equal to scikit-learn's `roc_auc_score` of each resample.

A resample is a row of item indices; an item drawn k times counts k times. The ROC curve of a resample
depends only on how many positive and negative draws each distinct score has, so those counts are taken
for all resamples at once (`np.bincount`), and the curve is finished as scikit-learn's `roc_curve` and
`auc` finish it (cumulative counts at the distinct scores present, collinear points dropped, 0 prepended,
divided by the totals, `scipy.integrate.trapezoid`). The cumulative counts are whole numbers, exact in
float64 whatever order they are added in, so every step sees the numbers `roc_auc_score` sees and the
result is the same to the last bit (tests/test_resampled_scores.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from baselines.evaluation.resampling import BLOCK


def resampled_roc_auc(truth: np.ndarray, scores: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """`roc_auc_score(truth[row], scores[row])` for each row of draws.

    Args:
        truth: (items,) binary labels, 0 or 1.
        scores: (items,) scores, higher meaning more likely positive.
        draws: (resamples, items drawn) item indices.

    Returns:
        (resamples,) AUCs; NaN where a resample holds one class only (no AUC).
    """
    from scipy.integrate import trapezoid  # scipy comes with scikit-learn, an optional extra: only when scoring

    distinct, inverse = np.unique(scores, return_inverse=True)
    groups = len(distinct)
    group = groups - 1 - inverse.ravel()  # 0: the highest score, as the curve is walked
    positive = np.asarray(truth) == 1
    resamples = len(draws)
    out = np.full(resamples, np.nan)
    rows = max(1, BLOCK // max(groups, 1))
    for start in range(0, resamples, rows):
        block = draws[start : start + rows]
        cells = (np.arange(len(block))[:, None] * groups + group[block]).ravel()
        total = np.bincount(cells, minlength=len(block) * groups).reshape(len(block), groups)
        hits = np.bincount(cells, positive[block].ravel(), len(block) * groups).reshape(len(block), groups)
        for b in range(len(block)):
            out[start + b] = _auc(hits[b], total[b] - hits[b], trapezoid)
    return out


def _auc(positives: np.ndarray, negatives: np.ndarray, trapezoid: Callable[..., float]) -> float:
    """The AUC of per-score counts (highest score first) as `roc_curve` + `auc` compute it."""
    present = (positives + negatives) > 0
    tps = np.cumsum(positives[present], dtype=np.float64)
    fps = np.cumsum(negatives[present], dtype=np.float64)
    if not len(tps) or tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    if len(fps) > 2:  # roc_curve's drop_intermediate: points on a straight line between their neighbours
        kept = np.where(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])[0]
        fps, tps = fps[kept], tps[kept]
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    return float(trapezoid(tps / tps[-1], fps / fps[-1]))
