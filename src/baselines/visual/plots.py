"""Plots of scores (matplotlib, no display needed): per-class precision-recall curves and confusion
matrices, written as PNGs next to a run's scores.

Plots are registered per task kind (`TaskSpec.kind`, the problem family) in `PLOTS`:

- `boxes`, `polygons` (drawnUI, coral boxes and polygons): `pr_curves.png` (the curves whose mean is
  the mAP) and `confusion_matrix.png` (regions matched at the task's IoU threshold);
- `label_sets` (concept detection): `confusion_matrix.png` over the most frequent concepts (its run
  files hold no confidences, so there is no curve to draw).

Other kinds have no plot yet; `write_plots` returns what it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from baselines.evaluation.diagnostics import PRCurve
from baselines.tasks.base import Kind, TaskSpec

if TYPE_CHECKING:
    from baselines.tasks.regions import RegionSpec


def new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # a figure of its own, no pyplot state or display backend
    return figure


def save_figure(figure: Any, path: Path) -> Path:
    import io

    from baselines.io.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return atomic_write_bytes(path, buffer.getvalue())


def plot_pr_curves(curves: Mapping[str, PRCurve], path: str | Path, title: str) -> Path:
    """One precision-recall line per class (legend: class and AP), mean AP in the title."""
    figure = new_figure(9, 6)
    axes = figure.add_subplot()
    colours = _colours(len(curves))
    for (name, curve), colour in zip(curves.items(), colours, strict=True):
        axes.plot(curve.recall, curve.precision, color=colour, label=f"{name} {curve.average_precision:.3f}")
    mean = float(np.mean([c.average_precision for c in curves.values()])) if curves else 0.0
    axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision", title=f"{title} (mean AP {mean:.3f})")
    axes.grid(alpha=0.3)
    if curves:
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small", title="class AP")
    return save_figure(figure, Path(path))


def plot_confusion(
    matrix: np.ndarray, labels: Sequence[str], path: str | Path, title: str, none: tuple[str, str]
) -> Path:
    """A confusion matrix as a heat map with the counts written in (row: truth, column: prediction).

    Args:
        matrix: (len(labels) + 1) square counts; the last row and column are "none".
        labels: Names of the other rows/columns.
        path: Output PNG.
        title: Plot title.
        none: Names of the last row (a prediction matching no truth) and column (a missed truth).
    """
    rows = [*labels, none[0]]
    columns = [*labels, none[1]]
    side = max(5.0, 0.42 * len(rows) + 2.5)
    figure = new_figure(side + 1.5, side)
    axes = figure.add_subplot()
    image = axes.imshow(np.log1p(matrix), cmap="Blues")
    axes.set_xticks(range(len(columns)), columns, rotation=60, ha="right", fontsize="small")
    axes.set_yticks(range(len(rows)), rows, fontsize="small")
    axes.set(xlabel="predicted", ylabel="true", title=title)
    threshold = np.log1p(matrix).max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            colour = "white" if np.log1p(count) > threshold else "black"
            axes.text(j, i, str(count), ha="center", va="center", fontsize="x-small", color=colour)
    figure.colorbar(image, ax=axes, label="log(1 + count)", shrink=0.7)
    return save_figure(figure, Path(path))


def _colours(n: int) -> list[tuple[float, float, float]]:
    from baselines.visual.render import class_colours

    return [(r / 255, g / 255, b / 255) for r, g, b in class_colours(n)]  # distinct beyond 20 (drawnUI has 21)


def write_plots(spec: TaskSpec, run: Any, reference: Any, folder: str | Path) -> list[Path]:
    """Writes the plots of the task's kind of a parsed run against a reference with ground truth.

    Returns:
        The PNGs written (none for kinds without plots).
    """
    folder = Path(folder)
    if reference is None or reference.ground_truth is None:
        raise ValueError(f"{spec.name}: plots need ground truth")
    plots = PLOTS.get(spec.kind)
    return [] if plots is None else plots(spec, run, reference, folder)


def region_plots(spec: TaskSpec, run: Any, reference: Any, folder: Path) -> list[Path]:
    """Boxes and polygons: precision-recall curves per class and the confusion matrix of matched regions."""
    from baselines.evaluation.diagnostics import region_confusion, region_pr_curves

    regions = cast("RegionSpec", spec)  # every task of these kinds is one (`TaskSpec.kind`)
    truth, sizes = reference.ground_truth, reference.sizes
    threshold = regions.iou_threshold
    curves = region_pr_curves(run, truth, sizes, regions.geometry, threshold, regions.max_detections)
    named = {spec.classes[label]: curve for label, curve in curves.items()}
    what = "mask" if regions.geometry == "polygon" else "box"
    written = [
        plot_pr_curves(named, folder / "pr_curves.png", f"{spec.name}: {what} precision-recall, IoU {threshold}")
    ]
    matrix = region_confusion(run, truth, sizes, regions.geometry, len(spec.classes), threshold)
    used = [k for k in range(len(spec.classes)) if matrix[k].any() or matrix[:, k].any()]
    keep = [*used, len(spec.classes)]  # classes that occur on either side, and "none"
    written.append(
        plot_confusion(
            matrix[np.ix_(keep, keep)],
            [spec.classes[k] for k in used],
            folder / "confusion_matrix.png",
            f"{spec.name}: regions matched at IoU {threshold} (predictions >= 0.5)",
            ("none (false positive)", "none (missed)"),
        )
    )
    return written


def label_set_plots(spec: TaskSpec, run: Any, reference: Any, folder: Path) -> list[Path]:
    """Label sets: the confusion matrix of the most frequent reference labels."""
    from baselines.evaluation.diagnostics import label_set_confusion

    labels, matrix = label_set_confusion(run, reference.ground_truth)
    return [
        plot_confusion(
            matrix,
            labels,
            folder / "confusion_matrix.png",
            f"{spec.name}: the {len(labels)} most frequent reference concepts",
            ("not in reference", "not predicted"),
        )
    ]


Plots = Callable[[TaskSpec, Any, Any, Path], list[Path]]
"""(spec, parsed run, reference with ground truth, folder) -> the PNGs written."""

PLOTS: dict[Kind, Plots] = {"boxes": region_plots, "polygons": region_plots, "label_sets": label_set_plots}
"""The plots of each task kind; a kind not here has none (a new kind adds its entry)."""
