"""Regression networks for feature tables (lifelog SPLL): a small MLP."""

from __future__ import annotations

from torch import nn


def mlp(in_features: int | None = None, hidden: int = 32, layers: int = 2, dropout: float = 0.1) -> nn.Module:
    """in_features -> hidden (x layers, GELU, dropout) -> 1.

    Args:
        in_features: Number of feature columns; None sizes the first layer from the first batch, so the same
            config fits any table (a checkpoint restores the size it was trained with).
    """
    blocks: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        first = nn.Linear(width, hidden) if width is not None else nn.LazyLinear(hidden)
        blocks += [first, nn.GELU(), nn.Dropout(dropout)]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, 1) if width is not None else nn.LazyLinear(1))
