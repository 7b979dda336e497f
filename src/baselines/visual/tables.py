"""Per-class score tables of a run's results page (`baselines.visual.results`), one row per class.

Every number is the task's own scorer's, never a second implementation: region tasks take the per-class
AP that pycocotools' COCOeval computes for the task's mAP (`evaluation.coco.region_average_precision`,
the mean of the column is the `map_<t>` score) and coral's per-substrate pixel IoU from the scores; TB
takes its per-label AUC from the scores. Tables are registered with the drawer of the task's kind
(`views.Drawer.per_class`, keyed by `TaskSpec.kind`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

Row = dict[str, Any]
"""One class's row: `class` and its columns (None: no value, e.g. AP of a class without ground truth)."""


def region_table(spec: Any, run: Mapping[str, Any], reference: Any, scores: Mapping[str, float]) -> list[Row]:
    """Per class: ground-truth and predicted region counts, COCOeval's AP at the task's IoU threshold
    (`ap_<t>`: None for a class without ground truth, which the mAP leaves out) and, where the task
    scores it, pixel IoU."""
    from baselines.evaluation.coco import region_average_precision

    truth = reference.ground_truth
    result = region_average_precision(
        run, truth, reference.sizes, spec.geometry, spec.iou_threshold, spec.max_detections
    )
    in_truth = Counter(region.label for regions in truth.values() for region in regions)
    predicted = Counter(region.label for item in truth for region in run.get(item, ()))
    column = spec.primary_metric.replace("map", "ap", 1)
    rows = []
    for label, name in enumerate(spec.classes):
        row: Row = {"class": name, "ground_truth": in_truth[label], "predicted": predicted[label]}
        row[column] = result["per_class"].get(label)
        if f"pixel_iou/{name}" in scores:
            row["pixel_iou"] = scores[f"pixel_iou/{name}"]
        rows.append(row)
    return rows


def label_table(spec: Any, run: Mapping[str, Any], reference: Any, scores: Mapping[str, float]) -> list[Row]:
    """Per label: the AUC the task's scorer reported (`auc/<label>`; NaN where the ground truth has one
    class only) and how many ground-truth items are positive."""
    labels: Sequence[str] = spec.labels
    truth = reference.ground_truth
    return [
        {
            "class": name,
            "positives": int(sum(int(values[j]) for values in truth.values())),
            "items": len(truth),
            "auc": scores.get(f"auc/{name}"),
        }
        for j, name in enumerate(labels)
    ]


def format_table(rows: Sequence[Row]) -> str:
    """rows as aligned text columns (numbers to 4 decimals, `-` for no value), for the log."""
    if not rows:
        return ""
    columns = list(rows[0])
    cells = [columns, *([_cell(row.get(c)) for c in columns] for row in rows)]
    widths = [max(len(line[k]) for line in cells) for k in range(len(columns))]
    lines = []
    for line in cells:
        padded = [
            text.ljust(w) if k == 0 else text.rjust(w) for k, (text, w) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(padded))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
