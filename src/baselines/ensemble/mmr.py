"""Time-aware maximal marginal relevance: the LMRT re-ranking for diverse moments.

Shared by the retrieval model (models.retrieval) and the ranking ensembles (ensemble.rankings), a floor
below the retrieval package, as ensemble.wbf is below the detection model; NumPy only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def temporal_mmr(
    relevance: Sequence[float], times: Sequence[float], k: int, weight: float = 0.7, time_scale: float = 1800.0
) -> list[int]:
    """Maximal marginal relevance with a temporal redundancy term.

    Picks k of the candidates, each maximising `weight * relevance - (1 - weight) * max_similarity` where
    the similarity to an already picked item is `exp(-|dt| / time_scale)`: moments close in time are
    usually the same event (cluster), so spreading over time raises cluster recall.

    Returns:
        Positions into the candidate lists, in picking order.
    """
    rel = np.asarray(relevance, np.float64)
    t = np.asarray(times, np.float64)
    picked: list[int] = []
    redundancy = np.zeros(len(rel))
    available = np.ones(len(rel), bool)
    for _ in range(min(k, len(rel))):
        score = np.where(available, weight * rel - (1 - weight) * redundancy, -np.inf)
        best = int(score.argmax())
        picked.append(best)
        available[best] = False
        redundancy = np.maximum(redundancy, np.exp(-np.abs(t - t[best]) / time_scale))
    return picked
