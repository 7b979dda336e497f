"""What every ImageCLEF task definition provides, and the registry the CLI and pipeline look tasks up in.

A task module under `baselines.tasks` defines one or more `TaskSpec` objects in a module-level
`TASKS` list; they are found by `get_task` without any central list to edit.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

from baselines.errors import FormatError, Problem
from baselines.types import PredictionSet

if TYPE_CHECKING:
    from baselines.evaluation.resampling import Resampling

log = logging.getLogger(__name__)
T = TypeVar("T")
SNIFF_LINES = 20
"""How many lines of a ground-truth file `TaskSpec.check_ground_truth` reads to tell which task it is for."""

Kind = Literal["boxes", "polygons", "label_sets", "answers", "texts", "rankings", "probabilities", "values"]
"""A task's problem family, named after what its parsed run holds per item:

- `boxes`: detection, scored regions given as boxes (drawnUI, coral boxes);
- `polygons`: segmentation, scored regions given as polygons (coral pixel-wise);
- `label_sets`: multi-label classification, a set of labels per item (concepts);
- `answers`: single-label classification, one answer per item (VQA);
- `texts`: text generation, one text or a list of texts per item (caption, VQG);
- `rankings`: retrieval, confidence-ranked items per topic (LMRT);
- `probabilities`: one probability per label per item (TB CT report);
- `values`: regression, one number per item (SPLL).

Every mechanism that treats task families alike is keyed by it: the ensemble's fusion functions
(`baselines.ensemble.FUSERS`), the drawers of `baselines.visual.views`, the plots of
`baselines.visual.plots` and the per-class tables of the results page (`Drawer.per_class`). A new task of
an existing kind is drawn, plotted and ensembled without registering anything.
"""
KINDS: tuple[Kind, ...] = get_args(Kind)


class TaskSpec(ABC):
    """One ImageCLEF (sub)task: its labels, its run-file grammar, its validator and its evaluator.

    Attributes:
        name: Registry key, also the `task` value in configs and `--task` on the command line.
        primary_metric: The key of `score`'s result that the official leaderboard ranks by.
        run_file_name: A file name with this task's run-file extension, for the run-file text of a few items
            written to a temporary file and parsed back (validation overlays, the results page, tests); the
            pipeline's run file is named by the config (`callbacks.run_file_writer.output_path`).
        kind: The task's problem family (`Kind`): how its runs are ensembled, drawn and plotted.
        id_separators: The characters that separate the fields of a run-file line: an id holding one
            (or any whitespace) cannot be written so that the validator reads it back.
    """

    name: str
    primary_metric: str
    kind: Kind
    run_file_name: str = "run.txt"
    id_separators: str = ""
    reference_hint: str = "give --gt <ground truth> or --images <the test items>"
    ground_truth_grammar: str = ""

    @property
    def classes(self) -> Sequence[str]:
        """Class names in label-index order; empty for tasks without a fixed label set."""
        return ()

    @abstractmethod
    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        """Turns per-sample prediction dicts (each with `id`) into the run file's text."""

    @abstractmethod
    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> Any:
        """Loads what a run file is validated and scored against (ids, sizes, ground truth).

        Either argument may be None; the validator then skips the checks that need it.
        """

    @abstractmethod
    def reference_for(self, predicted: PredictionSet, ground_truth: str | Path | None) -> Any:
        """What a run file written from `predicted` is validated (and, with ground truth, scored) against.

        The data module that made the predictions says which items they cover, in which order and from
        which files, so the pipeline never has to be told again where the test images are. Ground truth
        of items that were not predicted (left out as unreadable) is left out of the score, with a warning.
        """

    def check_ids(self, predicted: PredictionSet) -> None:
        """Refuses, before any training, ids the run file could not hold (a field separator or whitespace).

        Raises:
            FormatError: One problem per offending id (the first 50), naming its file.
        """
        wanted = set(self.id_separators)
        separators = " ".join(repr(c) for c in self.id_separators) or "whitespace"
        problems = []
        for item in [*predicted.ids, *sorted(predicted.candidates or ())]:
            found = sorted({c for c in item if c in wanted or c.isspace()})
            if found:
                fallback = "(predict split)" if item in predicted.ids else "(the collection)"
                where = predicted.files.get(item, fallback)
                chars = ", ".join(repr(c) for c in found)
                message = f"id {item!r} contains {chars}: a {self.name} run file separates fields by {separators}"
                problems.append(Problem(str(where), None, f"{message}, so it cannot hold this id; rename the file"))
        if problems:
            raise FormatError(problems[:50], max(0, len(problems) - 50))

    @abstractmethod
    def parse_run(self, path: str | Path, reference: Any | None) -> Any:
        """Parses and strictly validates a run file.

        Raises:
            FormatError: Listing every problem with its line number.
        """

    def validate(self, path: str | Path, reference: Any | None) -> None:
        """Checks a run file as `parse_run` does, without keeping what it read (tasks whose runs get large
        validate line by line here: `baselines validate` calls this)."""
        self.parse_run(path, reference)

    @abstractmethod
    def score(self, run: Any, reference: Any) -> dict[str, float]:
        """Scores a parsed run against a reference that has ground truth, as the official evaluator does."""

    def unchecked(self, reference: Any | None) -> list[str]:
        """The validator's checks that need a reference this validation did not have (`baselines validate`
        prints them, so a grammar-only pass is never mistaken for a full one)."""
        if reference is None:
            return [f"ids against the test set, and one line per test item ({self.reference_hint})"]
        return []

    def sniff(self, lines: Sequence[str]) -> bool | None:
        """Whether the first lines of a file read as this task's ground truth: True, False, or None when the
        lines cannot tell (the default: a task that cannot tell is never refused nor named).

        It looks at the shape of the lines only (fields, whether they are questions, CUIs), never at ids, so
        that a file can be told apart from another task's in a few microseconds; the task's reader still
        checks every line.
        """
        return None

    def check_ground_truth(self, path: str | Path) -> None:
        """Refuses a ground-truth file that reads as another task's and not as this one's, naming that task.

        The first `SNIFF_LINES` lines are shown to every registered task's `sniff`: the file is refused only
        when this task says False and another says True (VQA question-answer pairs given as VQG reference
        questions, which the VQG reader would otherwise accept and score). A file no task recognises is left
        to this task's reader and its line-by-line errors.

        Raises:
            ValueError: Naming the file, the task it reads as, and what this task expects.
        """
        if not Path(path).is_file():
            return  # the task's reader reports it as every reader does ("file not found"), not as an OSError
        lines = head_lines(path, SNIFF_LINES)
        if not lines or self.sniff(lines) is not False:
            return
        _ensure_discovered()
        likely = [spec for spec in _REGISTRY.values() if spec is not self and spec.sniff(lines)]
        if likely:
            names = " or ".join(spec.name for spec in likely)
            raise ValueError(
                f"{path} does not read as {self.name} ground truth ({self.ground_truth_grammar}): its first lines "
                f"read as {names} ground truth ({likely[0].ground_truth_grammar}). Give --task {likely[0].name} "
                f"if the run is a {likely[0].name} run, or the {self.name} ground truth"
            )

    def with_subsets(self, reference: Any, path: str | Path) -> Any:
        """Adds test-subset membership to a reference so `score` also reports per-subset values."""
        raise ValueError(f"task {self.name} has no per-subset scores")

    def evaluate_file(self, run_path: str | Path, reference: Any) -> dict[str, float]:
        return self.score(self.parse_run(run_path, reference), reference)

    def scored_items(self, reference: Any) -> list[str]:
        """The test items `score` averages or pools over (images, questions, topics, CTs): what a
        bootstrap resamples. By default the ground truth's ids."""
        return list(reference.ground_truth)

    def restrict(self, run: Any, reference: Any, ids: Sequence[str]) -> tuple[Any, Any]:
        """A parsed run and its reference cut down to the test items ids, for `score` only.

        `baselines compare` scores bootstrap resamples through this, so every metric (means such as
        accuracy, and pooled ones such as mAP, AUC or corpus BLEU) is recomputed by the task's own
        `score`. An id drawn more than once becomes distinct items (`resampled_names`), so it counts
        once per draw.

        The default serves runs keyed by item id and dataclass references whose per-item fields are
        mappings keyed by item id: `ground_truth`, and every other mapping field that has each scored
        item as a key (image sizes, LMRT cluster counts), are cut and renamed alike. Other fields are
        kept as they are; a reference with per-item data held otherwise overrides this.
        """
        names = resampled_names(ids)
        truth = reference.ground_truth
        changes = {}
        for field in dataclasses.fields(reference):
            value = getattr(reference, field.name)
            if field.name == "ground_truth" or (isinstance(value, Mapping) and set(truth) <= set(value)):
                changes[field.name] = {name: value[item] for name, item in zip(names, ids, strict=True)}
        kept_run = {name: run[item] for name, item in zip(names, ids, strict=True) if item in run}
        return kept_run, dataclasses.replace(reference, **changes)

    def resampling(self, run: Any, reference: Any, items: Sequence[str]) -> Resampling | None:
        """The run's scores on many bootstrap resamples of items at once (`baselines.evaluation.resampling`):
        what `score` needs of each item computed once, each resample scored from arrays. It must give
        every metric of `score(*restrict(run, reference, draw))`, to the last bit. None (the default):
        `baselines compare` restricts and rescores each resample."""
        return None


def head_lines(path: str | Path, count: int) -> list[str]:
    """The first `count` lines of a text file that are not blank, without line ends or a byte-order mark
    (undecodable bytes replaced: this is a quick look, the task's reader reports them)."""
    lines: list[str] = []
    with Path(path).open(encoding="utf-8-sig", errors="replace") as handle:
        for text in handle:
            if text.strip():
                lines.append(text.rstrip("\r\n"))
                if len(lines) == count:
                    break
    return lines


def mostly(lines: Sequence[str], test: Callable[[str], bool]) -> bool:
    """Whether more than half of lines pass test: one odd line does not decide what a file is."""
    return sum(1 for line in lines if test(line)) * 2 > len(lines)


def resampled_names(ids: Sequence[str]) -> list[str]:
    """ids with each repeat renamed `<id>#2`, `<id>#3`, ... (the first keeps its id), so a resample
    that draws an item twice holds it twice; a new name never equals another drawn id."""
    drawn = set(ids)
    used: set[str] = set()
    names = []
    for item in ids:
        name, count = item, 1
        while name in used or (name != item and name in drawn):
            count += 1
            name = f"{item}#{count}"
        used.add(name)
        names.append(name)
    return names


def predicted_truth(truth: Mapping[str, T], predicted: PredictionSet, source: str | Path) -> dict[str, T]:
    """The ground truth of the predicted items, in the ground truth's order; says what is left out."""
    wanted = set(predicted.ids)
    kept = {key: value for key, value in truth.items() if key in wanted}
    if len(kept) < len(truth):
        left_out = [key for key in truth if key not in wanted]
        log.warning(
            "%s: %d of %d ground-truth items were not predicted (e.g. %s) and are not scored",
            source,
            len(left_out),
            len(truth),
            ", ".join(left_out[:3]),
        )
    return kept


_REGISTRY: dict[str, TaskSpec] = {}
_UNAVAILABLE: dict[str, str] = {}  # task module -> why it could not be imported (a missing extra)


def _discover() -> None:
    """Imports every task module once; a module that needs a missing package is recorded, not half-registered."""
    import baselines.tasks as package

    found: dict[str, TaskSpec] = {}
    broken: dict[str, str] = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_") or module.name == "base":
            continue
        try:
            loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        except ImportError as exc:
            broken[module.name] = f"{type(exc).__name__}: {exc}"
            continue
        for spec in getattr(loaded, "TASKS", []):
            if spec.name in found and found[spec.name] is not spec:
                raise RuntimeError(f"task name {spec.name!r} is defined twice")
            if getattr(spec, "kind", None) not in KINDS:
                raise RuntimeError(
                    f"task {spec.name!r} ({loaded.__name__}): kind {getattr(spec, 'kind', None)!r} is not one of "
                    f"{', '.join(KINDS)} (baselines.tasks.base.Kind)"
                )
            found[spec.name] = spec
    _REGISTRY.update(found)
    _UNAVAILABLE.update(broken)


def _ensure_discovered() -> None:
    if not _REGISTRY and not _UNAVAILABLE:
        _discover()


def task_names() -> list[str]:
    _ensure_discovered()
    return sorted(_REGISTRY)


def unavailable_task_modules() -> dict[str, str]:
    """Task modules that could not be imported (module name -> the ImportError), e.g. without the [tasks] extra."""
    _ensure_discovered()
    return dict(_UNAVAILABLE)


def get_task(name: str) -> TaskSpec:
    """Returns the registered task called name.

    Raises:
        KeyError: With the list of known tasks, and the task modules that failed to import.
    """
    _ensure_discovered()
    try:
        return _REGISTRY[name]
    except KeyError:
        message = f"unknown task {name!r}; known tasks: {', '.join(sorted(_REGISTRY))}"
        if _UNAVAILABLE:
            failed = "; ".join(f"baselines.tasks.{m} ({why})" for m, why in sorted(_UNAVAILABLE.items()))
            message += (
                f". Task modules that could not be imported: {failed}. "
                "Install the optional dependencies: pip install 'imageclef-baselines[tasks]'"
            )
        raise KeyError(message) from None
