"""What every fusion function receives and returns, and the registry keyed by a task's kind.

A task spec names its problem family (`TaskSpec.kind`: "boxes", "label_sets", ..., named after what its
parsed run holds per item); the fusion function registered for that kind turns the parsed member runs
into the per-item prediction dicts the task's own `format_run` writes. Nothing here knows a task by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baselines.io.sidecar import ScoreSidecar
from baselines.tasks.base import Kind, TaskSpec


@dataclass(frozen=True)
class FusionOptions:
    """The knobs of every fusion kind (each kind reads the ones it needs).

    Attributes:
        iou_threshold: Boxes: IoU above which boxes of one class form one fused box (WBF).
        skip_box_threshold: Boxes: member boxes below this confidence are ignored (WBF).
        threshold: Polygons: share of the (weighted) runs that must cover a pixel; label sets: share of
            the vote a label needs, or without stored thresholds the mean score it needs.
        min_labels: Label sets: fewest labels per item (the concept model's default is 1).
        rrf_k: Rankings: the k of reciprocal rank fusion, 1 / (k + rank) (60, Cormack et al. 2009).
        diversity_weight: Rankings: weight of relevance in the temporal re-ranking (1 disables it).
        time_scale_minutes: Rankings: how close in time two moments count as the same event.
        polygon_epsilon: Polygons: simplification tolerance of the fused polygons, in pixels.
        min_area: Polygons: smallest fused component kept, in pixels.
        use_sidecars: Average the runs' score sidecars where every run has one (else vote).
        max_sidecar_bytes: A sidecar whose arrays would take more once loaded is refused from its headers.
    """

    iou_threshold: float = 0.55
    skip_box_threshold: float = 0.0
    threshold: float = 0.5
    min_labels: int = 1
    rrf_k: float = 60.0
    diversity_weight: float = 0.7
    time_scale_minutes: float = 30.0
    polygon_epsilon: float = 1.0
    min_area: float = 4.0
    use_sidecars: bool = True
    max_sidecar_bytes: int = 1 << 30  # baselines.io.sidecar.MAX_SIDECAR_BYTES


@dataclass
class Member:
    """One input run: its file, the task validator's parse of it, its weight and its score sidecar."""

    path: Path
    parsed: Any
    weight: float
    sidecar: ScoreSidecar | None = None


@dataclass
class FusionContext:
    """Attributes:
    spec: The task.
    reference: What the runs were validated against (None: grammar only).
    images: The --images argument (image folder, metadata CSV, ...), for what the reference lacks.
    options: The fusion knobs.
    notes: What the fusion decided on its own (e.g. how boxes were normalised); printed and recorded.
    """

    spec: TaskSpec
    reference: Any | None
    images: Path | None
    options: FusionOptions = field(default_factory=FusionOptions)
    notes: list[str] = field(default_factory=list)


Fuser = Callable[[Sequence[Member], FusionContext], list[dict[str, Any]]]
FUSERS: dict[Kind, Fuser] = {}


def register(kind: Kind) -> Callable[[Fuser], Fuser]:
    """Registers a fusion function for the runs of every task of kind (`TaskSpec.kind`)."""

    def add(function: Fuser) -> Fuser:
        if kind in FUSERS:
            raise RuntimeError(f"a fusion for kind {kind!r} is registered twice")
        FUSERS[kind] = function
        return function

    return add


def common_ids(members: Sequence[Member]) -> list[str]:
    """The items every run covers, in the first run's order.

    Raises:
        ValueError: If the runs do not cover the same items (naming the run and a few of the items).
    """
    first = list(members[0].parsed)
    expected = set(first)
    for member in members[1:]:
        got = set(member.parsed)
        if got != expected:
            lacking, extra = sorted(expected - got), sorted(got - expected)
            parts = [f"lacks {len(lacking)} ({', '.join(lacking[:3])})"] if lacking else []
            parts += [f"has {len(extra)} more ({', '.join(extra[:3])})"] if extra else []
            raise ValueError(
                f"{member.path} does not cover the same items as {members[0].path}: {'; '.join(parts)}. "
                "Every run of an ensemble must be made for the same test set"
            )
    return first


def normalised_weights(members: Sequence[Member]) -> list[float]:
    total = sum(m.weight for m in members)
    return [m.weight / total for m in members]
