"""Synthetic SPLL participants: aggregated sleep, heart-rate and activity features whose linear mix
(plus noise) gives the change in running speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from baselines.io.atomic import atomic_write_text

FEATURES = ("sleep_hours", "resting_heart_rate", "daily_steps", "active_minutes", "runs_per_week", "calories")
_WEIGHTS = np.array([0.4, -0.5, 0.3, 0.3, 0.6, -0.1])


def generate(root: str | Path, n_train: int = 64, n_test: int = 16, seed: int = 0) -> Path:
    """Writes `train/features.csv`, `train/targets.csv`, `test/features.csv`, `test/targets.csv`."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    means = np.array([7.0, 60.0, 8000.0, 45.0, 3.0, 2200.0])
    scales = np.array([1.0, 6.0, 2500.0, 15.0, 1.2, 300.0])
    for split, count in (("train", n_train), ("test", n_test)):
        z = rng.normal(size=(count, len(FEATURES)))
        features = means + scales * z
        target = z @ _WEIGHTS * 0.1 + rng.normal(0, 0.03, count)  # change in km/h
        ids = [f"p{split[:2]}{i:03d}" for i in range(count)]
        header = "participant_id," + ",".join(FEATURES)
        rows = [f"{i}," + ",".join(f"{v:.3f}" for v in row) for i, row in zip(ids, features, strict=True)]
        atomic_write_text(root / split / "features.csv", "\n".join([header, *rows]) + "\n")
        targets = [f"{i},{t:.4f}" for i, t in zip(ids, target, strict=True)]
        atomic_write_text(root / split / "targets.csv", "\n".join(["participant_id,target", *targets]) + "\n")
    return root
