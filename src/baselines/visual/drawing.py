"""A run file (or a ground-truth file) drawn as one PNG per test item: `baselines draw` and the demo's overlays.

What is drawn depends on the task (`views.drawer_for`); reading, checking every output path and every item's
file before the first picture, and counting what `min_score` hid is the same for every task and lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.errors import FormatError, Problem
from baselines.paths import child_path
from baselines.tasks.base import TaskSpec
from baselines.visual.render import save_png
from baselines.visual.views import Sources, drawer_for, output_name, render


@dataclass(frozen=True)
class Drawn:
    """What `draw_run` wrote.

    Attributes:
        pictures: The PNGs, in run order.
        hidden: Predicted regions below `min_score`, not drawn; None where the task's drawer leaves nothing out
            or no run file was drawn.
        predicted: Predicted regions of the drawn items (counted where `hidden` is not None, else 0).
    """

    pictures: list[Path]
    hidden: int | None = None
    predicted: int = 0


def draw_run(
    spec: TaskSpec,
    run_file: str | Path | None,
    images: str | Path,
    out: str | Path,
    ground_truth: str | Path | None = None,
    min_score: float = 0.3,
    top_k: int = 10,
    masks: str | Path | None = None,
    questions: str | Path | None = None,
    limit: int | None = None,
    longest: int | None = None,
    overwrite: bool = False,
) -> Drawn:
    """Draws the items of a run file (with ground_truth, beside their ground truth) as `<out>/<item>.png`.

    Args:
        spec: The task.
        run_file: The run file; None draws ground_truth alone (region tasks: `Drawer.truth_alone`).
        images: The test images (or CT volumes); for LMRT the collection's image folder.
        out: The folder for the PNGs (created).
        ground_truth: The split's ground truth, read by the task's own reader; drawn too.
        min_score: Regions: predictions below this confidence are not drawn.
        top_k: LMRT: images per topic.
        masks: TB: the lung-mask folder (else each half of the volume is a lung).
        questions: VQA: the test questions file, shown with the answers.
        limit: Draw only the first this many items.
        longest: Regions: images scaled down to this longer side (None: full size).
        overwrite: Replace PNGs that exist.

    Raises:
        ValueError: A task without pictures, nothing to draw, or two items that give one PNG name.
        FormatError: An invalid run file (with a hint when it reads as the task's ground truth).
        FileExistsError: A PNG that exists, without overwrite; nothing is drawn.
        FileNotFoundError: Items without a file in images; nothing is drawn.
    """
    drawer = drawer_for(spec)  # a task without pictures fails before anything is read
    if run_file is None and not (ground_truth and drawer.truth_alone):
        what = "--gt <ground truth>" if drawer.truth_alone else "a run file"
        raise ValueError(f"draw --task {spec.name}: give {what} to draw")
    reference = spec.load_reference(ground_truth, None) if ground_truth else None
    parsed = _parse_run(spec, run_file, reference) if run_file else None
    source = run_file or ground_truth
    drawn = parsed if parsed is not None else reference.ground_truth if reference is not None else {}
    items = list(drawn)[:limit] if limit is not None else list(drawn)
    out = Path(out)
    # Every output path is checked before anything is drawn: a bad id writes nothing at all.
    targets = {item: child_path(out, output_name(item), source, item) for item in items}
    if len(set(targets.values())) < len(targets):
        raise ValueError(f"{source}: two ids give the same PNG name once their suffix is replaced")
    if not overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise FileExistsError(f"{existing[0]} exists ({len(existing)} in all); pass --overwrite to replace them")
    asked = _questions(questions)
    sources = Sources(
        files=drawer.files(spec, Path(images)),
        min_score=min_score,
        top_k=top_k,
        masks=Path(masks) if masks else None,
        questions=asked,
        longest=longest,
    )
    if drawer.items_have_files:  # known before the first picture, not after half of them
        missing = [item for item in items if item not in sources.files]
        if missing:
            shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
            raise FileNotFoundError(f"{images}: no file for {len(missing)} of the run's items: {shown}")
    truth = reference.ground_truth if reference is not None else None
    chosen = {item: parsed[item] if parsed is not None else None for item in items}
    for item, picture in render(spec, chosen, truth, sources):
        save_png(picture, targets[item])
    if parsed is None or drawer.hidden is None:
        return Drawn(list(targets.values()))
    hidden = sum(drawer.hidden(chosen[item], sources) for item in items)
    return Drawn(list(targets.values()), hidden, sum(len(parsed[item]) for item in items))


def _questions(path: str | Path | None) -> dict[str, str]:
    if not path:
        return {}
    from baselines.io.formats.vqamed import read_questions

    return dict(read_questions(path))


def _parse_run(spec: TaskSpec, run_file: str | Path, reference: Any) -> Any:
    """The parsed run; a file the run grammar refuses but the task's ground-truth reader reads (coral's
    training annotations) is refused with a hint to pass it as --gt."""
    try:
        return spec.parse_run(run_file, reference)
    except FormatError as error:
        try:
            spec.load_reference(run_file, None)
        except Exception:
            raise error from None
        hint = f"not a valid run file, but it reads as {spec.name} ground truth: to draw it, give --gt {run_file} alone"
        raise FormatError([Problem(str(run_file), None, hint), *error.problems], error.truncated) from None
