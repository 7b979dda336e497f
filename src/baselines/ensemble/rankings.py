"""Ranking runs (LMRT): reciprocal rank fusion, then the retrieval model's temporal diversity re-ranking.

Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009) scores an image by
`sum over runs of weight / (k + rank)`, rank 1-based within the run's topic by confidence, as the
evaluator ranks (equal confidences keep file order); k = 60 is the paper's value. Fused scores are
divided by the topic's best one (so the top image has relevance 1, the scale of the retrieval model's
cosine scores) and re-ranked by `baselines.ensemble.mmr.temporal_mmr` with the model's defaults,
which needs every image's time: from the image folder (the released names carry it) or the metadata CSV
given as --images, else the re-ranking is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from baselines.ensemble.base import FusionContext, Member, common_ids, normalised_weights, register
from baselines.ensemble.mmr import temporal_mmr
from baselines.evaluation.lifelog import rank


def reciprocal_rank_fusion(
    runs: Sequence[Sequence[tuple[str, float]]], weights: Sequence[float], k: float = 60.0
) -> list[tuple[str, float]]:
    """(image, fused score) by descending score; ties keep the order images first appear in (run order,
    then rank)."""
    fused: dict[str, float] = {}
    for run, weight in zip(runs, weights, strict=True):
        for position, image in enumerate(rank(run), start=1):  # ranked as the evaluator ranks
            fused[image] = fused.get(image, 0.0) + weight / (k + position)
    return sorted(fused.items(), key=lambda pair: -pair[1])


def _times(context: FusionContext) -> Mapping[str, float] | None:
    """Image times from what --images gave the LMRT reference its image ids: the image folder (times from
    the file names) or the metadata CSV, chosen as the retrieval model's collection chooses them."""
    if context.images is None or getattr(context.reference, "images", None) is None:
        return None
    from baselines.io.formats.lifelog import images_from_names, read_metadata
    from baselines.io.images import find_images_by_name

    path = Path(context.images)
    images = images_from_names(find_images_by_name(path), path) if path.is_dir() else read_metadata(path)
    return {image.image_id: image.time for image in images}


@register("rankings")
def fuse_rankings(members: Sequence[Member], context: FusionContext) -> list[dict[str, Any]]:
    """LMRT: per topic, RRF over the runs, temporal MMR over the fused list, at most the task's maximum
    per topic; confidences fall with the final rank, as the retrieval model writes them."""
    options = context.options
    limit = int(getattr(context.spec, "warn_above", 50))  # as many per topic as a run may hold without a warning
    weights = normalised_weights(members)
    times = _times(context)
    if times is None:
        context.notes.append(
            "no image times (give the image folder or metadata CSV as --images): temporal diversity re-ranking "
            "skipped, the fused order is the reciprocal rank fusion's"
        )
    predictions = []
    for topic in common_ids(members):
        fused = reciprocal_rank_fusion([m.parsed[topic] for m in members], weights, options.rrf_k)
        if times is not None and fused:
            best = fused[0][1]
            order = temporal_mmr(
                [score / best for _, score in fused],
                [times[image] for image, _ in fused],
                limit,
                options.diversity_weight,
                options.time_scale_minutes * 60.0,
            )
            ranking = [fused[j][0] for j in order]
        else:
            ranking = [image for image, _ in fused[:limit]]
        confidences = [1.0 - r / max(len(ranking), 1) for r in range(len(ranking))]
        predictions.append({"id": topic, "images": ranking, "confidences": confidences})
    return predictions
