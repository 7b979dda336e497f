"""ImageCLEF 2020 tuberculosis CT report (`tbct`): six per-lung findings per CT.

Run file: one CSV line per CT, no header, `CTR_TST_001.nii.gz,p1,...,p6`, probabilities in [0, 1] in
the label order (default LeftLungAffected, RightLungAffected, CavernsLeft, CavernsRight, PleurisyLeft,
PleurisyRight, the order of the released label CSV; configurable). Read as the organisers' evaluator reads
it (crowdAI/CLEF_evaluators_2018, tuberculosis, the only public one): blank lines and a BOM are refused,
CT ids are compared as written (a space before an id makes it unknown). Metric: AUC per label
(scikit-learn); mean AUC primary, min AUC secondary; a label whose ground truth has one class has no AUC:
the official value (NaN, so NaN mean and min) is reported as `*_official` next to the mean and min over
the other labels. docs/evaluation.md.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from baselines.errors import FirstLines, ProblemCollector
from baselines.evaluation.auc import resampled_roc_auc
from baselines.evaluation.resampling import PerResample, Resampling
from baselines.io.formats.tuberculosis import LABELS, list_volumes, read_labels
from baselines.io.lines import read_lines
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
    kind = "probabilities"
    id_separators = ","

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
        first: FirstLines[str] = FirstLines(problems, "CT")
        for number, text in read_lines(path, problems, strict=True):
            fields = text.split(",")
            if len(fields) != expected:
                problems.add(
                    number,
                    f"{len(fields)} comma-separated values; expected CT file name + {len(self.labels)} probabilities",
                )
                continue
            ct = fields[0]  # as written: the official evaluator does not strip ids
            if ct.strip().lower() == "filename":
                problems.add(number, "a header row: the official evaluator reads every line as a CT (remove it)")
                continue
            if ct != ct.strip():
                problems.add(number, f"CT {ct!r} has spaces around it: the official evaluator compares ids as written")
                continue
            if not first.add(ct, number):
                continue
            if reference is not None and reference.ids is not None and ct not in reference.ids:
                problems.add(number, f"unknown CT {ct!r}: not in the test set")
                continue
            values = []
            for label, text_value in zip(self.labels, fields[1:], strict=True):
                try:
                    value = float(text_value)  # float() ignores spaces around a number, as the official does
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
            problems.no_line(sorted(reference.ids), first, "CTs of the test set")
        problems.raise_if_any()
        return result

    def score(self, run: dict[str, np.ndarray], reference: CTReference) -> dict[str, float]:
        """AUC per label over the ground-truth CTs, `mean_auc` and `min_auc` over the labels that have one.

        A label whose ground truth has one class only has no AUC: `auc/<label>` is NaN, as the official
        evaluator reports it, and so are `mean_auc_official` / `min_auc_official` (the official mean and
        min); `mean_auc` / `min_auc` leave the label out (with a warning), so a run is still ranked.
        """
        from sklearn.metrics import roc_auc_score  # 1.4 s to import: only when scoring

        if reference.ground_truth is None:
            raise ValueError("tbct: scoring needs ground truth")
        ids = sorted(reference.ground_truth)
        truth = np.stack([reference.ground_truth[i] for i in ids])
        scores = np.stack([run[i] for i in ids])
        aucs = [float(roc_auc_score(truth[:, j], scores[:, j])) if len(np.unique(truth[:, j])) == 2 else math.nan
                for j in range(len(self.labels))]  # fmt: skip
        result = self._summary(aucs)
        undefined = [label for label, value in zip(self.labels, aucs, strict=True) if math.isnan(value)]
        if undefined:
            warnings.warn(
                f"tbct: the ground truth of {', '.join(undefined)} has one class only, so its AUC is undefined: "
                "the official mean and min AUC are NaN (mean_auc_official, min_auc_official); mean_auc and "
                f"min_auc are over the other {len(aucs) - len(undefined)} labels",
                UserWarning,
                stacklevel=2,
            )
        return result

    def _summary(self, aucs: Sequence[float]) -> dict[str, float]:
        """`score`'s metrics from the AUC per label (NaN: the label's ground truth has one class)."""
        result = {f"auc/{label}": value for label, value in zip(self.labels, aucs, strict=True)}
        defined = [value for value in aucs if not math.isnan(value)]
        result["mean_auc"] = float(np.mean(defined)) if defined else math.nan
        result["min_auc"] = float(np.min(defined)) if defined else math.nan
        result["mean_auc_official"] = math.nan if len(defined) < len(aucs) else result["mean_auc"]
        result["min_auc_official"] = math.nan if len(defined) < len(aucs) else result["min_auc"]
        return result

    def resampling(self, run: dict[str, np.ndarray], reference: CTReference, items: Sequence[str]) -> Resampling | None:
        """Resamples of `score`: each label's AUC from per-CT labels and probabilities with the resample's
        multiplicities (`resampled_roc_auc`), then `score`'s mean and min. None where the labels are not
        0/1 or a CT has no line (`score` says what is wrong)."""
        if reference.ground_truth is None or any(item not in run for item in items):
            return None
        truth = np.stack([reference.ground_truth[item] for item in items])
        if not np.isin(truth, (0, 1)).all():
            return None
        probabilities = np.stack([run[item] for item in items])
        return PerResample(
            lambda draws: np.stack(
                [resampled_roc_auc(truth[:, j], probabilities[:, j], draws) for j in range(len(self.labels))], axis=1
            ),
            self._summary,
        )


TASKS = [TuberculosisSpec()]
