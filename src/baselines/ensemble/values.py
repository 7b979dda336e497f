"""Numeric runs: TB probabilities per CT and SPLL predictions per participant, by weighted mean."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from baselines.ensemble.base import FusionContext, Member, common_ids, normalised_weights, register


def weighted_mean(members: Sequence[Member]) -> dict[str, np.ndarray]:
    """Per item, the weighted mean of the runs' values (scalars or vectors), in the first run's order."""
    weights = normalised_weights(members)
    fused = {}
    for item in common_ids(members):
        values = np.stack([np.asarray(m.parsed[item], np.float64) for m in members])
        fused[item] = np.tensordot(np.asarray(weights), values, axes=1)
    return fused


@register("probabilities")
def fuse_probabilities(members: Sequence[Member], context: FusionContext) -> list[dict[str, Any]]:
    """TB: the weighted mean probability of every label (clipped against rounding past 1)."""
    return [
        {"id": item, "probabilities": np.clip(value, 0.0, 1.0).tolist()}
        for item, value in weighted_mean(members).items()
    ]


@register("values")
def fuse_values(members: Sequence[Member], context: FusionContext) -> list[dict[str, Any]]:
    """SPLL: the weighted mean prediction."""
    return [{"id": item, "value": float(value)} for item, value in weighted_mean(members).items()]
