"""One `kind` per task spec keys every family mechanism: the closed set of kinds, the registries keyed by
it (ensemble fusion, drawers, per-class tables, plots), a task of an unknown kind refused when the tasks
are discovered, and a new task of an existing kind (a spec class registered nowhere) ensembled, drawn,
tabled and plotted exactly as the built-in task of that kind."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import baselines.tasks.base as task_base
from baselines.ensemble import FUSERS, ensemble_runs
from baselines.tasks import get_task, task_names
from baselines.tasks.base import KINDS, TaskSpec
from baselines.tasks.medcaption import CaptionReference
from baselines.types import ImageSet, PredictionSet, Region
from baselines.visual.plots import PLOTS, write_plots
from baselines.visual.views import Sources, drawer_for, render
from test_ensemble import CASES, _write_runs


class Renamed(TaskSpec):
    """A new task of inner's kind: a spec class of its own that no registry names, doing what inner does."""

    def __init__(self, inner: TaskSpec, name: str | None = None) -> None:
        self.inner = inner
        self.name = name or f"new_{inner.name}"
        self.kind = inner.kind
        self.primary_metric = inner.primary_metric
        self.run_file_name = inner.run_file_name

    def __getattr__(self, name: str) -> Any:  # the family's own attributes (iou_threshold, labels, ...)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def classes(self) -> Sequence[str]:
        return self.inner.classes

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        return self.inner.format_run(predictions)

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> Any:
        return self.inner.load_reference(ground_truth, images)

    def reference_for(self, predicted: PredictionSet, ground_truth: str | Path | None) -> Any:
        return self.inner.reference_for(predicted, ground_truth)

    def parse_run(self, path: str | Path, reference: Any | None) -> Any:
        return self.inner.parse_run(path, reference)

    def score(self, run: Any, reference: Any) -> dict[str, float]:
        return self.inner.score(run, reference)


EXPECTED_KINDS = {
    "drawnui": "boxes",
    "coral_boxes": "boxes",
    "coral_polygons": "polygons",
    "concepts": "label_sets",
    "vqa": "answers",
    "caption": "texts",
    "vqg": "texts",
    "lmrt": "rankings",
    "tbct": "probabilities",
    "spll": "values",
}


def test_every_task_has_one_kind_of_the_closed_set() -> None:
    assert {name: get_task(name).kind for name in task_names()} == EXPECTED_KINDS
    assert set(EXPECTED_KINDS.values()) == set(KINDS)  # every kind is used
    assert set(FUSERS) == set(KINDS)  # every kind can be ensembled
    assert set(PLOTS) <= set(KINDS)


def test_tasks_of_one_kind_share_its_drawer_and_per_class_table() -> None:
    drawers = {name: drawer_for(get_task(name)) for name in task_names() if name != "spll"}
    # regions of both geometries are drawn alike, and all text-beside-the-image kinds alike
    assert drawers["drawnui"] is drawers["coral_boxes"] is drawers["coral_polygons"]
    assert drawers["concepts"] is drawers["vqa"] is drawers["caption"] is drawers["vqg"]
    assert len({id(d) for d in drawers.values()}) == 4
    assert drawers["drawnui"].per_class is not None and drawers["tbct"].per_class is not None
    assert drawers["caption"].per_class is None and drawers["lmrt"].per_class is None
    with pytest.raises(ValueError, match="task spll has no pictures to draw"):
        drawer_for(get_task("spll"))


def test_a_task_of_an_unknown_kind_is_refused_when_tasks_are_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "extra_tasks"
    package.mkdir()
    (package / "typo.py").write_text(
        "from baselines.tasks.base import TaskSpec\n"
        "class TypoSpec(TaskSpec):\n"
        "    name, primary_metric, kind = 'typo', 'f1', 'boxs'\n"
        "    format_run = load_reference = reference_for = parse_run = score = None\n"
        "TASKS = [TypoSpec()]\n"
    )
    import baselines.tasks as tasks

    monkeypatch.setattr(tasks, "__path__", [*tasks.__path__, str(package)])
    monkeypatch.setattr(task_base, "_REGISTRY", {})
    monkeypatch.setattr(task_base, "_UNAVAILABLE", {})
    try:
        with pytest.raises(
            RuntimeError, match=r"task 'typo' \(baselines.tasks.typo\): kind 'boxs' is not one of boxes, "
        ):
            task_base._discover()
        assert task_base._REGISTRY == {}  # nothing half-registered
    finally:
        sys.modules.pop("baselines.tasks.typo", None)


@pytest.mark.parametrize("task", sorted(CASES))
def test_a_new_task_of_an_existing_kind_is_ensembled_alike(task: str, tmp_path: Path) -> None:
    spec = get_task(task)
    runs, reference = CASES[task]()
    paths = _write_runs(task, runs, tmp_path)
    builtin, new = tmp_path / f"builtin_{spec.run_file_name}", tmp_path / f"new_{spec.run_file_name}"
    ensemble_runs(spec, paths, builtin, reference=reference)
    ensemble_runs(Renamed(spec), paths, new, reference=reference)
    assert new.read_text() == builtin.read_text() != ""


def _noise_png(path: Path, width: int = 120, height: int = 90) -> Path:
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize(
    ("task", "run", "truth"),
    [
        (
            "drawnui",
            {"page.png": [Region(0, 0.9, (10, 10, 60, 40))]},
            {"page.png": [Region(0, 1.0, (12, 10, 60, 42)), Region(2, 1.0, (70, 50, 110, 80))]},
        ),
        ("caption", {"page.png": "a pleural effusion"}, {"page.png": "right pleural effusion"}),
        ("vqa", {"page.png": "mass"}, {"page.png": ["mass", "a mass"]}),
    ],
)
def test_a_new_task_of_an_existing_kind_is_drawn_alike(task: str, run: Any, truth: Any, tmp_path: Path) -> None:
    spec = get_task(task)
    sources = Sources(files={"page.png": _noise_png(tmp_path / "page.png")}, min_score=0.0)
    [(_, builtin)] = render(spec, run, truth, sources)
    [(_, new)] = render(Renamed(spec, spec.name), run, truth, sources)  # the picture names the task
    assert drawer_for(Renamed(spec)) is drawer_for(spec)
    assert new.size == builtin.size and (np.asarray(new) == np.asarray(builtin)).all()


def test_a_new_task_of_an_existing_kind_is_tabled_and_plotted_alike(tmp_path: Path) -> None:
    spec = get_task("coral_polygons")
    square = (0.0, 0.0, 20.0, 0.0, 20.0, 20.0, 0.0, 20.0)
    truth = {"r": [Region(0, 1, (0, 0, 20, 20), square)]}
    run = {"r": [Region(0, 0.8, (0, 0, 20, 20), square), Region(3, 0.6, (0, 0, 20, 20), square)]}
    reference = ImageSet({"r": (50, 50)}, truth)
    table = drawer_for(spec).per_class
    assert table is not None
    scores = spec.score(run, reference)
    assert table(Renamed(spec), run, reference, scores) == table(spec, run, reference, scores)
    labels = {"i1": ["C0000001"], "i2": ["C0000002", "C0000001"]}
    for task, parsed, with_truth in [
        ("coral_polygons", run, reference),
        ("concepts", {"i1": ["C0000001"], "i2": ["C0000003"]}, CaptionReference(set(labels), labels)),
    ]:
        builtin = write_plots(get_task(task), parsed, with_truth, tmp_path / task / "builtin")
        # the same name: the plots' titles name the task
        new = write_plots(Renamed(get_task(task), task), parsed, with_truth, tmp_path / task / "new")
        assert [p.name for p in new] == [p.name for p in builtin] != []
        assert [p.read_bytes() for p in new] == [p.read_bytes() for p in builtin]
