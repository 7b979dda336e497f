"""ImageCLEF 2020 tuberculosis CT report (`tbct`): six per-lung findings per CT.

Run file: one CSV line per CT, no header, `CTR_TST_001.nii.gz,p1,...,p6`, probabilities in [0, 1] in
the label order (default LeftLungAffected, RightLungAffected, CavernsLeft, CavernsRight, PleurisyLeft,
PleurisyRight [assumption; configurable]). Metric: AUC per label (scikit-learn); mean AUC primary,
min AUC secondary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from baselines.data.formats.tuberculosis import LABELS, list_volumes, read_labels
from baselines.errors import ProblemCollector, read_lines
from baselines.tasks.base import TaskSpec, predicted_truth
from baselines.types import PredictionSet


@dataclass
class CTReference:
    """Expected CT file names (None: any) and, when loaded, labels per CT in label order."""

    ids: set[str] | None
    ground_truth: dict[str, np.ndarray] | None = None


class TuberculosisSpec(TaskSpec):
    """Args:
    labels: Label names in run-file order.
    """

    reference_hint = "give --images <test CT folder>, or --gt <labels CSV>"
    fusion = "probabilities"

    def __init__(self, labels: Sequence[str] = LABELS) -> None:
        self.name = "tbct"
        self.primary_metric = "mean_auc"
        self.labels = tuple(labels)
        self.run_file_name = "run.csv"

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        return "".join(f"{p['id']}," + ",".join(f"{v:.6f}" for v in p["probabilities"]) + "\n" for p in predictions)

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> CTReference:
        ids = {p.name for p in list_volumes(images)} if images is not None else None
        truth = read_labels(ground_truth, self.labels) if ground_truth is not None else None
        if ids is None and truth is not None:
            ids = set(truth)
        return CTReference(ids, truth)

    def reference_for(self, predicted: PredictionSet, ground_truth: str | Path | None) -> CTReference:
        truth = None
        if ground_truth is not None:
            truth = predicted_truth(read_labels(ground_truth, self.labels), predicted, ground_truth)
        return CTReference(set(predicted.ids), truth)

    def parse_run(self, path: str | Path, reference: CTReference | None) -> dict[str, np.ndarray]:
        problems = ProblemCollector(path)
        expected = 1 + len(self.labels)
        result: dict[str, np.ndarray] = {}
        first: dict[str, int] = {}
        for number, text in read_lines(path, problems):
            fields = [f.strip() for f in text.split(",")]
            if len(fields) != expected:
                problems.add(
                    number,
                    f"{len(fields)} comma-separated values; expected CT file name + {len(self.labels)} probabilities",
                )
                continue
            ct = fields[0]
            if ct in first:
                problems.add(number, f"duplicate CT {ct!r} (first on line {first[ct]})")
                continue
            first[ct] = number
            if reference is not None and reference.ids is not None and ct not in reference.ids:
                problems.add(number, f"unknown CT {ct!r}: not in the test set")
                continue
            values = []
            for label, text_value in zip(self.labels, fields[1:], strict=True):
                try:
                    value = float(text_value)
                except ValueError:
                    problems.add(number, f"{label}: {text_value!r} is not a number")
                    break
                if not math.isfinite(value) or not 0.0 <= value <= 1.0:
                    problems.add(number, f"{label}: {text_value!r} must be a probability in [0, 1]")
                    break
                values.append(value)
            else:
                result[ct] = np.array(values)
        if reference is not None and reference.ids is not None:
            missing = sorted(reference.ids - set(first))
            if missing:
                problems.add(None, f"{len(missing)} CTs of the test set have no line: {', '.join(missing[:5])}")
        problems.raise_if_any()
        return result

    def score(self, run: dict[str, np.ndarray], reference: CTReference) -> dict[str, float]:
        """AUC per label over the ground-truth CTs; a label whose ground truth has one class only has no
        AUC and is left out of the mean and min."""
        from sklearn.metrics import roc_auc_score  # 1.4 s to import: only when scoring

        if reference.ground_truth is None:
            raise ValueError("tbct: scoring needs ground truth")
        ids = sorted(reference.ground_truth)
        truth = np.stack([reference.ground_truth[i] for i in ids])
        scores = np.stack([run[i] for i in ids])
        result: dict[str, float] = {}
        for j, label in enumerate(self.labels):
            if len(np.unique(truth[:, j])) == 2:
                result[f"auc/{label}"] = float(roc_auc_score(truth[:, j], scores[:, j]))
        aucs = [v for k, v in result.items() if k.startswith("auc/")]
        result["mean_auc"] = float(np.mean(aucs)) if aucs else float("nan")
        result["min_auc"] = float(np.min(aucs)) if aucs else float("nan")
        return result


TASKS = [TuberculosisSpec()]
