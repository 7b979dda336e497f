"""What every ImageCLEF task definition provides, and the registry the CLI and pipeline look tasks up in.

A task module under `baselines.tasks` defines one or more `TaskSpec` objects in a module-level
`TASKS` list; they are found by `get_task` without any central list to edit.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


class TaskSpec(ABC):
    """One ImageCLEF (sub)task: its labels, its run-file grammar, its validator and its evaluator.

    Attributes:
        name: Registry key, also the `task` value in configs and `--task` on the command line.
        primary_metric: The key of `score`'s result that the official leaderboard ranks by.
        run_file_name: Default file name of run files written by the pipeline.
    """

    name: str
    primary_metric: str
    run_file_name: str = "run.txt"

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
    def parse_run(self, path: str | Path, reference: Any | None) -> Any:
        """Parses and strictly validates a run file.

        Raises:
            FormatError: Listing every problem with its line number.
        """

    @abstractmethod
    def score(self, run: Any, reference: Any) -> dict[str, float]:
        """Scores a parsed run against a reference that has ground truth, as the official evaluator does."""

    def with_subsets(self, reference: Any, path: str | Path) -> Any:
        """Adds test-subset membership to a reference so `score` also reports per-subset values."""
        raise ValueError(f"task {self.name} has no per-subset scores")

    def evaluate_file(self, run_path: str | Path, reference: Any) -> dict[str, float]:
        return self.score(self.parse_run(run_path, reference), reference)


_REGISTRY: dict[str, TaskSpec] = {}


def _discover() -> None:
    import baselines.tasks as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_") or module.name == "base":
            continue
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        for spec in getattr(loaded, "TASKS", []):
            if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
                raise RuntimeError(f"task name {spec.name!r} is defined twice")
            _REGISTRY[spec.name] = spec


def task_names() -> list[str]:
    if not _REGISTRY:
        _discover()
    return sorted(_REGISTRY)


def get_task(name: str) -> TaskSpec:
    """Returns the registered task called name.

    Raises:
        KeyError: With the list of known tasks.
    """
    if not _REGISTRY:
        _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_REGISTRY))}") from None
