"""A run's results page: what a participant opens in the run folder after `baselines train` / `predict`.

- `results.png`: the loss and metric curves of the CSV logger's `metrics.csv` (one panel per quantity,
  training and validation together); a run without the CSV logger says so in the log and has none;
- `per_class.csv`: the per-class scores the task's scorer gives (region tasks: COCOeval's AP per class
  and the region counts; coral polygons: pixel IoU too; TB: AUC per label; `baselines.visual.tables`),
  also printed to the log; tasks whose scorer has no per-class numbers say so;
- `val_pred_<k>.png`: the first few scored items with their ground truth and prediction (region tasks:
  side by side, one colour per class, a legend), drawn as `baselines draw` draws them.

The scored items are the predicted split's when it has ground truth (`evaluation.ground_truth`); else,
for task kinds whose drawer reads ground truth from a dataset (`views.Drawer.dataset_truth`: the
region tasks), the validation split's, predicted once more by the trained model (the real-data
experiments have no test ground truth: the validation split is what a participant can see).

Writing the page never fails a run: a page that cannot be written is reported in the log.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from baselines.tasks.base import TaskSpec

log = logging.getLogger("baselines")

PICTURES = 4
"""Items drawn as `val_pred_<k>.png`."""
LONGEST = 1024
"""Longer side of an item's image on the page (each of ground truth and prediction)."""


def write_results_page(
    spec: TaskSpec,
    folder: str | Path,
    loggers: Sequence[Any],
    run: Mapping[str, Any] | None = None,
    reference: Any | None = None,
    scores: Mapping[str, float] | None = None,
    files: Mapping[str, Path] | None = None,
    pictures: int = PICTURES,
    min_score: float = 0.3,
    trainer: Any | None = None,
    module: Any | None = None,
    datamodule: Any | None = None,
) -> list[Path]:
    """Writes the results page of a run into its folder.

    Args:
        spec: The task.
        folder: The run folder.
        loggers: The run's Lightning loggers: the curves come from the CSV logger's `metrics.csv`.
        run: The parsed run file (None: a run without predictions: curves only).
        reference: What it was scored against; per-class scores and pictures need its ground truth.
        scores: The scores `spec.score` gave (per-class values some tasks report among them).
        files: Item id -> the file it was predicted from (images, CT volumes).
        pictures: How many items to draw.
        min_score: Predicted regions below this confidence are not drawn (each picture says how many), as
            in `baselines draw`.
        trainer: The run's trainer, module (with the weights the run file was written with) and data
            module: without ground truth for run, the validation split is predicted with them instead.
        module: See trainer.
        datamodule: See trainer.

    Returns:
        The files written.
    """
    folder = Path(folder)
    written: list[Path] = []
    has_truth = reference is not None and reference.ground_truth is not None and scores is not None
    if not has_truth and trainer is not None and module is not None and datamodule is not None:
        try:
            validation = validation_run(spec, trainer, module, datamodule)
            if validation is not None:
                run, reference, files = validation
                scores = spec.score(run, reference)
                log.info("results page from the validation split (the predicted split has no ground truth): %s", scores)
        except Exception as exc:  # as below: the run file is written, the page is a bonus
            log.warning("results page: the validation split was not scored (%s: %s)", type(exc).__name__, exc)
    steps = [
        ("results.png", lambda: _curves(spec, folder, loggers)),
        ("per_class.csv", lambda: _per_class(spec, folder, run, reference, scores)),
        ("val_pred pictures", lambda: _pictures(spec, folder, run, reference, files or {}, pictures, min_score)),
    ]
    for what, step in steps:
        try:
            written += step()
        except Exception as exc:  # a picture is never worth a failed run: the run file is already written
            log.warning("results page: %s not written (%s: %s)", what, type(exc).__name__, exc)
    if written:
        log.info("results page in %s: %s", folder, ", ".join(path.name for path in written))
    return written


def validation_run(spec: TaskSpec, trainer: Any, module: Any, datamodule: Any) -> tuple[Any, Any, dict] | None:
    """The validation split predicted by module, parsed as its run file would be, and a reference holding
    the split's ground truth as the data module reads it for training; None for task families whose
    drawer cannot read ground truth from a dataset.

    Returns:
        (parsed run, reference, item id -> file).
    """
    import dataclasses
    import tempfile

    import torch

    from baselines.types import PredictionSet
    from baselines.visual.views import drawer_for

    try:
        read_truth = drawer_for(spec).dataset_truth
    except ValueError:
        return None
    dataset = datamodule.dataset("val") if read_truth is not None else None
    files = dict(getattr(dataset, "files", None) or {})
    if read_truth is None or not files:
        return None
    outputs: list[Any] = []
    training, device = module.training, module.device
    module.eval()
    module.to(trainer.strategy.root_device)  # Lightning's teardown has moved it back to the CPU
    try:
        with torch.no_grad():
            for index, batch in enumerate(datamodule.val_dataloader()):
                batch = trainer.strategy.batch_to_device(batch, trainer.strategy.root_device)
                outputs += module.predict_step(batch, index)
    finally:
        module.to(device)
        module.train(training)
    ids = tuple(str(output["id"]) for output in outputs)
    with tempfile.TemporaryDirectory() as temporary:  # parsed as the run file of the split would be
        path = Path(temporary) / spec.run_file_name
        path.write_text(spec.format_run(outputs), encoding="utf-8")
        parsed = spec.parse_run(path, None)
    reference = spec.reference_for(PredictionSet(ids, {i: files[i] for i in ids if i in files}), None)
    truth = read_truth(dataset)
    return parsed, dataclasses.replace(reference, ground_truth={i: truth[i] for i in ids if i in truth}), files


def metrics_file(loggers: Sequence[Any]) -> Path | None:
    """The CSV logger's `metrics.csv`, or None when the run has no CSV logger."""
    from lightning.pytorch.loggers import CSVLogger

    for logger in loggers:
        if isinstance(logger, CSVLogger):
            return Path(logger.log_dir) / "metrics.csv"
    return None


def _curves(spec: TaskSpec, folder: Path, loggers: Sequence[Any]) -> list[Path]:
    path = metrics_file(loggers)
    if path is None:
        log.info("results page: no results.png, this run has no CSV logger (add logger=csv for loss curves)")
        return []
    if not path.is_file():
        log.info("results page: no results.png, %s was not written (no step was logged)", path)
        return []
    drawn = plot_training_curves(path, folder / "results.png", spec.name)
    return [drawn] if drawn is not None else []


def read_metrics(path: str | Path) -> dict[str, list[tuple[int, int, float]]]:
    """A CSV logger's metrics.csv as name -> [(epoch, step, value)] in file order (its empty cells, the
    metrics a row does not log, left out)."""
    series: dict[str, list[tuple[int, int, float]]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            epoch, step = int(float(row.get("epoch") or 0)), int(float(row.get("step") or 0))
            for name, text in row.items():
                if name in ("epoch", "step") or text in (None, ""):
                    continue
                series.setdefault(name, []).append((epoch, step, float(text)))
    return series


def plot_training_curves(metrics: str | Path, path: str | Path, title: str) -> Path | None:
    """One panel per quantity (`train/loss` and `val/loss` share the `loss` panel) against the training
    step; test scores and learning rates are left out (a single point, a schedule). None: nothing logged."""
    from baselines.visual.plots import new_figure, save_figure

    panels: dict[str, dict[str, list[tuple[int, int, float]]]] = {}
    for name, points in read_metrics(metrics).items():
        split, _, quantity = name.partition("/") if "/" in name else ("", "", name)
        if split == "test" or name.startswith("lr-") or quantity.startswith("loss_"):
            continue
        panels.setdefault(quantity, {})[name] = points
    if not panels:
        return None
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = new_figure(4.2 * columns, 3.2 * rows + 0.4)
    figure.suptitle(f"{title}: training curves ({Path(metrics).name})")
    for k, (quantity, curves) in enumerate(sorted(panels.items(), key=lambda item: (item[0] != "loss", item[0]))):
        axes = figure.add_subplot(rows, columns, k + 1)
        for name, points in sorted(curves.items()):
            steps = [step for _, step, _ in points]
            values = [value for _, _, value in points]
            axes.plot(steps, values, marker="o" if len(points) < 30 else None, markersize=3, label=name)
        axes.set(title=quantity, xlabel="step")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    return save_figure(figure, Path(path))


def _per_class(
    spec: TaskSpec, folder: Path, run: Any, reference: Any, scores: Mapping[str, float] | None
) -> list[Path]:
    from baselines.io.atomic import atomic_write_bytes
    from baselines.visual.tables import format_table

    if run is None or reference is None or reference.ground_truth is None or scores is None:
        log.info("results page: no per-class scores (no scored prediction: set evaluation.ground_truth)")
        return []
    table = _kind_table(spec)
    if table is None:
        log.info("results page: %s's scorer gives no per-class scores", spec.name)
        return []
    rows = table(spec, run, reference, scores)
    log.info("%s per class:\n%s", spec.name, format_table(rows))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: "" if value is None else value for key, value in row.items()} for row in rows)
    return [atomic_write_bytes(folder / "per_class.csv", buffer.getvalue().encode("utf-8"))]


def _kind_table(spec: TaskSpec) -> Any:
    from baselines.visual.views import drawer_for

    try:
        return drawer_for(spec).per_class
    except ValueError:  # a task without pictures (SPLL) has no per-class table either
        return None


def _pictures(
    spec: TaskSpec, folder: Path, run: Any, reference: Any, files: Mapping[str, Path], count: int, min_score: float
) -> list[Path]:
    from baselines.visual.render import save_png
    from baselines.visual.views import Sources, drawer_for, render

    for old in folder.glob("val_pred_*.png"):  # a rerun into the folder never shows the last run's items
        old.unlink()
    if run is None or reference is None or reference.ground_truth is None or count < 1:
        log.info("results page: no val_pred pictures (no scored prediction: set evaluation.ground_truth)")
        return []
    try:
        drawer = drawer_for(spec)
    except ValueError:
        return []
    if not drawer.items_have_files:
        log.info("results page: no val_pred pictures for %s (draw them with baselines draw)", spec.name)
        return []
    truth = reference.ground_truth
    items = [item for item in run if item in files and item in truth]
    # images with ground-truth regions first: an image without any shows little (a stable sort keeps run order)
    items.sort(key=lambda item: isinstance(truth[item], list) and not truth[item])
    chosen = {item: run[item] for item in items[:count]}
    sources = Sources(files=files, min_score=min_score, longest=LONGEST)
    written = []
    for k, (_, picture) in enumerate(render(spec, chosen, truth, sources)):
        written.append(save_png(picture, folder / f"val_pred_{k}.png"))
    return written
