"""What a parsed run looks like, one picture per test item, for every task that has pictures.

One mechanism serves every task: a `Drawer` is registered for a task kind (`TaskSpec.kind`, the
problem family) and says which files the items are drawn from and how one item is drawn from its
parsed prediction and, when given, its ground truth (`reference.ground_truth[item]`):

- `boxes`, `polygons` (drawnUI, coral boxes and polygons): the image with its ground-truth regions
  and, beside it, the same image with the predicted regions, one colour per class and a legend under
  both (`region_picture`);
- `label_sets`, `answers`, `texts` (concepts, VQA answers, caption, VQG questions): the image with
  predicted and reference text beside it (matches green, wrong red, missed grey);
- `rankings` (LMRT): a contact sheet of each topic's top-k images, relevant ones framed green, others red;
- `probabilities` (TB CT): axial slices of each lung with its findings' probabilities.

`values` (SPLL: tabular data) has no pictures. The task specs know nothing of this module; a new task
of an existing kind is drawn without registering anything, a new kind registers its drawer here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from baselines.io.images import find_images_by_name, find_images_by_stem, images_by_id, load_rgb
from baselines.io.polygons import flat
from baselines.tasks.base import Kind, TaskSpec
from baselines.types import Region
from baselines.visual.render import (
    INK,
    MUTED,
    TRUTH,
    WRONG,
    Line,
    beside,
    class_colour,
    class_colours,
    draw_regions,
    fit,
    gray,
    grid,
    legend,
    scale_regions,
    side_by_side,
    stack,
    tile,
    titled,
)
from baselines.visual.tables import label_table, region_table

if TYPE_CHECKING:
    from baselines.io.lungs import LungPreprocessing


@dataclass(frozen=True)
class Sources:
    """Where items are drawn from, and drawing options.

    Attributes:
        files: Id -> file for the ids drawers look up: the test items' images or CT volumes, or for
            LMRT the collection's images.
        min_score: Predicted regions below this confidence are not drawn.
        top_k: Images per LMRT topic on its contact sheet.
        masks: TB: the lung-mask folder (masks named as their CTs); without it each half of the RAS+
            volume along its first (left-right) axis is shown as one lung.
        questions: VQA: image id -> question, shown above the answers.
        longest: Region tasks: images are scaled down so that their longer side is at most this many
            pixels (None: drawn at their own size).
    """

    files: Mapping[str, Path]
    min_score: float = 0.3
    top_k: int = 10
    masks: Path | None = None
    questions: Mapping[str, str] = field(default_factory=dict)
    longest: int | None = None


ItemDraw = Callable[[TaskSpec, str, Any, Any, Sources], Image.Image]
"""(spec, item id, parsed prediction, ground truth or None, sources) -> picture."""


@dataclass(frozen=True)
class Drawer:
    """How the tasks of a kind are drawn: `files(spec, folder)` lists the files by id, `draw` draws an item.

    Attributes:
        items_have_files: Whether every item is drawn from a file of its own id (so a missing one is
            known before drawing); False where files are looked up otherwise (LMRT: the ranked images).
        hidden: (parsed prediction of an item, sources) -> how many of its predictions the drawing
            leaves out (regions below `min_score`); None where nothing is left out.
        truth_alone: Whether `draw` accepts None for the prediction and draws the ground truth alone
            (`baselines draw --gt FILE` without a run file: e.g. the training annotations).
        dataset_truth: A validation dataset -> its items' ground truth as the run parser gives it, for
            the TensorBoard overlays (`baselines.callbacks.OverlayImages`); None: overlays show predictions only.
        per_class: (spec, parsed run, reference, scores) -> the per-class score rows of a run's results
            page (`baselines.visual.tables`); None: the kind's scorer gives no per-class numbers.
    """

    files: Callable[[TaskSpec, Path], dict[str, Path]]
    draw: ItemDraw
    items_have_files: bool = True
    hidden: Callable[[Any, Sources], int] | None = None
    truth_alone: bool = False
    dataset_truth: Callable[[Any], dict[str, Any]] | None = None
    per_class: Callable[[Any, Any, Any, Mapping[str, float]], list[dict[str, Any]]] | None = None


_DRAWERS: dict[Kind, Drawer] = {}


def register(kind: Kind, drawer: Drawer) -> None:
    """Draws every task of kind (`TaskSpec.kind`) with drawer, in place of the drawer it had."""
    _DRAWERS[kind] = drawer


def drawer_for(spec: TaskSpec) -> Drawer:
    """The drawer of a task: its kind's.

    Raises:
        ValueError: For a task without pictures (SPLL: tabular data).
    """
    try:
        return _DRAWERS[spec.kind]
    except KeyError:
        raise ValueError(
            f"task {spec.name} has no pictures to draw (it is not an image, retrieval or CT task)"
        ) from None


def render(
    spec: TaskSpec, run: Mapping[str, Any], truth: Mapping[str, Any] | None, sources: Sources
) -> Iterator[tuple[str, Image.Image]]:
    """(item id, picture) for every item of a parsed run, in run order."""
    drawer = drawer_for(spec)
    for item, predicted in run.items():
        yield item, drawer.draw(spec, item, predicted, None if truth is None else truth.get(item), sources)


_SUFFIX = re.compile(r"\.(jpe?g|png|bmp|tiff?|webp|nii\.gz|nii)$", re.IGNORECASE)


def output_name(item: str) -> str:
    """The PNG file name of an item: its id with an image or volume suffix replaced by `.png`.

    The id's characters are kept as they are: `baselines.paths.child_path` then refuses ids that
    would leave the output folder.
    """
    return _SUFFIX.sub("", item) + ".png"


def _file(sources: Sources, item: str, what: str) -> Path:
    try:
        return sources.files[item]
    except KeyError:
        raise FileNotFoundError(f"no {what} for {item!r} in the given folder") from None


# --- regions ---------------------------------------------------------------------------------------


def _region_files(spec: TaskSpec, folder: Path) -> dict[str, Path]:
    return images_by_id(folder, getattr(spec, "id_from", "name"))


def _draw_regions(spec: TaskSpec, item: str, predicted: Any, truth: Any, sources: Sources) -> Image.Image:
    picture = Image.fromarray(load_rgb(_file(sources, item, "image")))
    return region_picture(picture, predicted, truth, spec.classes, sources.min_score, sources.longest, item)


def region_picture(
    image: Image.Image,
    predicted: Sequence[Region] | None,
    truth: Sequence[Region] | None,
    classes: Sequence[str],
    min_score: float = 0.0,
    longest: int | None = None,
    title: str = "",
) -> Image.Image:
    """Ground truth and prediction side by side, one colour per class, a legend of the classes shown.

    Each panel says what it shows: `ground truth: N regions`, `prediction: N regions` and how many
    predictions below min_score are not drawn. Either side may be None (not drawn).

    Args:
        image: The picture.
        predicted: Predicted regions, or None.
        truth: Ground-truth regions, or None.
        classes: Class names in label order.
        min_score: Predictions below this confidence are left out (and counted in the panel's title).
        longest: Scale the image down so its longer side is at most this many pixels (None: as it is).
        title: A line above the panels (the item's id).
    """
    factor = 1.0
    if longest is not None and max(image.size) > longest:
        factor = longest / max(image.size)
        image = fit(image, longest)
    colours = class_colours(len(classes))
    panels = []
    drawn: list[Region] = []
    if truth is not None:
        shown_truth = scale_regions(truth, factor)
        drawn += shown_truth
        picture = draw_regions(image, shown_truth, classes, colours, show_scores=False)
        panels.append(titled(picture, f"ground truth: {_count(len(truth), 'region')}"))
    if predicted is not None:
        shown = [region for region in predicted if region.score >= min_score]
        drawn += shown
        words = f"prediction: {_count(len(shown), 'region')}"
        if len(shown) < len(predicted):
            words += f", {len(predicted) - len(shown)} below score {min_score:g} not shown"
        picture = draw_regions(image, scale_regions(shown, factor), classes, colours)
        panels.append(titled(picture, words, WRONG if not shown and predicted else INK))
    row = side_by_side(panels) if panels else image.convert("RGB")
    parts = [row, legend(legend_entries(drawn, classes) or [("no regions", MUTED)], row.width)]
    page = stack(parts, gap=2)
    return titled(page, title, MUTED) if title else page


def legend_entries(regions: Sequence[Region], classes: Sequence[str]) -> list[tuple[str, tuple[int, int, int]]]:
    """(class name, colour) of each class among regions, in label order: a picture's legend."""
    colours = class_colours(len(classes))
    labels = sorted({region.label for region in regions})
    return [(classes[k] if 0 <= k < len(classes) else str(k), class_colour(k, colours)) for k in labels]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _hidden_regions(predicted: Any, sources: Sources) -> int:
    return sum(1 for region in predicted if region.score < sources.min_score)


def _dataset_regions(dataset: Any) -> dict[str, list[Region]]:
    """The ground truth of a detection or segmentation dataset's records (`baselines.data.detection`),
    in the original image's pixels, as regions."""
    truth = {}
    for record in dataset.records:
        polygons = list(record.polygons) or [()] * len(record.labels)
        truth[record.image_id] = [
            Region(int(label), 1.0, (float(x0), float(y0), float(x1), float(y1)), flat(polygon) if len(polygon) else ())
            for (x0, y0, x1, y1), label, polygon in zip(record.boxes, record.labels, polygons, strict=True)
        ]
    return truth


# --- text beside the image -------------------------------------------------------------------------


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _text_lines(predicted: Any, truth: Any) -> list[Line]:
    """Predicted vs reference text: a string (caption, answer) or a list (concepts, questions)."""
    lines = [Line("predicted", heading=True)]
    if isinstance(predicted, str):
        # a caption's reference is a string; a VQA answer's, its accepted alternatives
        alternatives = [] if truth is None else truth.split("#") if isinstance(truth, str) else list(truth)
        matched = any(_same(predicted, alternative) for alternative in alternatives)
        lines.append(Line(predicted or "(empty)", INK if truth is None else TRUTH if matched else WRONG))
        if truth is not None:
            lines += [Line("reference", heading=True), Line("  or  ".join(alternatives), INK)]
        return lines
    expected = list(truth) if truth is not None else None
    for text in predicted or ["(none)"]:
        hit = expected is not None and any(_same(text, t) for t in expected)
        lines.append(Line(text, INK if expected is None or not predicted else TRUTH if hit else WRONG))
    if expected is not None:
        lines.append(Line("reference", heading=True))
        for text in expected or ["(none)"]:
            found = any(_same(text, p) for p in predicted)
            lines.append(Line(text, TRUTH if found else MUTED))
    return lines


def _draw_text(spec: TaskSpec, item: str, predicted: Any, truth: Any, sources: Sources) -> Image.Image:
    picture = fit(Image.fromarray(load_rgb(_file(sources, item, "image"))), 384)
    lines = [Line(f"{spec.name}: {item}", MUTED)]
    if item in sources.questions:
        lines += [Line("question", heading=True), Line(sources.questions[item])]
    return beside(picture, lines + _text_lines(predicted, truth))


# --- LMRT contact sheets ---------------------------------------------------------------------------


def _draw_ranking(spec: TaskSpec, topic: str, rows: Any, clusters: Any, sources: Sources) -> Image.Image:
    from baselines.evaluation.lifelog import rank, topic_scores

    confidence = dict(rows)
    ranked = rank(rows)
    tiles = []
    for position, image_id in enumerate(ranked[: sources.top_k], start=1):
        path = sources.files.get(image_id)
        image = Image.fromarray(load_rgb(path, longest_at_least=160)) if path is not None else None
        captions = [Line(f"#{position}  {confidence[image_id]:.3f}"), Line(image_id, MUTED)]
        border = None
        if path is None:
            captions.append(Line("image not found", WRONG))
        if clusters is not None:
            relevant = image_id in clusters
            border = TRUTH if relevant else WRONG
            captions.append(Line(f"cluster {clusters[image_id]}" if relevant else "not relevant", border))
        tiles.append(tile(image, (200, 150), captions, border))
    title = [Line(f"{spec.name} topic {topic}: top {min(sources.top_k, len(ranked))} of {len(ranked)}", heading=True)]
    if clusters is not None:
        scores = topic_scores(ranked, clusters, sources.top_k)
        found = len({clusters[i] for i in ranked[: sources.top_k] if i in clusters})
        title.append(
            Line(
                f"P@{sources.top_k} {scores['p']:.2f}   clusters found {found} of {len(set(clusters.values()))}   "
                f"F1@{sources.top_k} {scores['f1']:.2f}   (green: relevant, red: not)",
                MUTED,
            )
        )
    return grid(tiles, 5, title)


# --- TB CT slice montages --------------------------------------------------------------------------


def _volume_files(spec: TaskSpec, folder: Path) -> dict[str, Path]:
    from baselines.io.formats.tuberculosis import list_volumes

    return {path.name: path for path in list_volumes(folder)}


def _draw_volume(spec: TaskSpec, ct: str, probabilities: Any, labels: Any, sources: Sources) -> Image.Image:
    from baselines.io.formats.tuberculosis import lung_label_order
    from baselines.io.lungs import LungPreprocessing  # nibabel: the [tasks] extra, needed only for CTs

    settings = LungPreprocessing()  # the model's defaults: its HU window, lungs told apart by the affine
    mask = sources.masks / ct if sources.masks is not None else None
    volume, lungs = _lung_boxes(_file(sources, ct, "CT volume"), mask, settings)
    low, high = settings.window
    scaled = np.clip((volume - low) / (high - low), 0, 1)
    names: Sequence[str] = getattr(spec, "labels", ())
    order = lung_label_order(names)
    halves = "" if sources.masks else "  (no --masks: halves of the left-right axis)"
    rows = [Line(f"{spec.name}: {ct}{halves}", MUTED)]
    pictures = []
    for lung, box in enumerate(lungs):
        slices = np.linspace(box[2].start, box[2].stop - 1, 6).round().astype(int)
        tiles = [
            tile(gray(np.rot90(scaled[box[0], box[1], z])), (128, 128), [Line(f"z {z}", MUTED)], None) for z in slices
        ]
        lines = [Line("left lung" if lung == 0 else "right lung", heading=True)]
        for j, (which, _) in enumerate(order):
            if which != lung:
                continue
            p = float(probabilities[j])
            truth = None if labels is None else int(labels[j])
            colour = INK if truth is None else TRUTH if (p >= 0.5) == bool(truth) else WRONG
            lines.append(Line(f"{names[j]}: {p:.3f}" + ("" if truth is None else f"  (truth {truth})"), colour))
        pictures.append(beside(grid(tiles, 6, []), lines, panel_width=320))
    return stack([beside(Image.new("RGB", (1, 1), (255, 255, 255)), rows, panel_width=700), *pictures])


def _lung_boxes(
    volume: Path, mask: Path | None, settings: LungPreprocessing
) -> tuple[np.ndarray, list[tuple[slice, slice, slice]]]:
    """The CT in RAS+ and the (left, right) lung's box in it: from its mask, the lungs told apart as in
    training (`baselines.io.lungs`), else the halves of axis 0 (from the patient's left to right)."""
    from baselines.io.lungs import locate_lungs, read_canonical, read_canonical_ct

    if mask is None:
        ct = read_canonical_ct(volume)
        half = ct.shape[0] // 2
        whole = (slice(0, ct.shape[1]), slice(0, ct.shape[2]))
        return ct, [(slice(0, half), *whole), (slice(half, ct.shape[0]), *whole)]
    if not mask.is_file():
        raise FileNotFoundError(f"{mask}: no lung mask for this CT in --masks")
    ct, lungs = read_canonical(volume, mask)
    boxes = []
    for lung in locate_lungs(lungs, mask, settings):
        # a margin of 8 voxels in-plane shows the lung's surroundings; slices stay inside the lung
        x, y, _ = lung.box(8)
        boxes.append((x, y, lung.box(0)[2]))
    return ct, boxes


def _stem_files(spec: TaskSpec, folder: Path) -> dict[str, Path]:
    return find_images_by_stem(folder)


def _name_files(spec: TaskSpec, folder: Path) -> dict[str, Path]:
    return find_images_by_name(folder)  # LMRT image ids are file names, extension included


# the built-in kinds: every task of one is drawn alike
_TEXT = Drawer(_stem_files, _draw_text)
_REGIONS = Drawer(
    _region_files,
    _draw_regions,
    hidden=_hidden_regions,
    truth_alone=True,
    dataset_truth=_dataset_regions,
    per_class=region_table,
)
register("boxes", _REGIONS)
register("polygons", _REGIONS)
register("label_sets", _TEXT)
register("answers", _TEXT)
register("texts", _TEXT)
register("rankings", Drawer(_name_files, _draw_ranking, items_have_files=False))
register("probabilities", Drawer(_volume_files, _draw_volume, per_class=label_table))
