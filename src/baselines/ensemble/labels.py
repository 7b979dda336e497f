"""Label runs: concept sets (a weighted vote, or mean scores) and VQA answers (a weighted majority, or
mean answer distributions), from the runs' score sidecars where every run has one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from baselines.ensemble.base import FusionContext, Member, common_ids, normalised_weights, register


def _label_union(members: Sequence[Member]) -> list[str]:
    """Every sidecar label, in order of first appearance (run order, then each vocabulary's order)."""
    return list(dict.fromkeys(label for m in members if m.sidecar for label in m.sidecar.labels))


def _columns(members: Sequence[Member], labels: list[str]) -> list[np.ndarray]:
    position = {label: i for i, label in enumerate(labels)}
    return [np.array([position[x] for x in m.sidecar.labels], np.int64) for m in members if m.sidecar]


def mean_scores(members: Sequence[Member], ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Weighted mean of the sidecars' scores over the union of their labels (a label absent from a run's
    vocabulary scores 0 in that run: the run could never predict it)."""
    labels = _label_union(members)
    weights = normalised_weights(members)
    fused = np.zeros((len(ids), len(labels)), np.float64)
    for member, weight, columns in zip(members, weights, _columns(members, labels), strict=True):
        assert member.sidecar is not None
        rows = member.sidecar.rows()
        lacking = [i for i in ids if i not in rows]
        if lacking:
            raise ValueError(f"{member.sidecar.path} has no scores for {len(lacking)} items, e.g. {lacking[0]!r}")
        fused[:, columns] += weight * np.stack([rows[i] for i in ids])
    return labels, fused


def mean_thresholds(members: Sequence[Member], labels: list[str], default: float) -> np.ndarray:
    """Per label, the weighted mean of the thresholds the runs' sidecars store (`default` where a run
    stores none for that label)."""
    weights = normalised_weights(members)
    fused = np.zeros(len(labels))
    for member, weight, columns in zip(members, weights, _columns(members, labels), strict=True):
        assert member.sidecar is not None
        own = np.full(len(labels), default)
        stored = member.sidecar.extras.get("thresholds")
        if stored is not None:
            own[columns] = stored
        fused += weight * own
    return fused


def _with_sidecars(members: Sequence[Member], context: FusionContext) -> bool:
    have = [m.sidecar is not None for m in members]
    if not context.options.use_sidecars or not any(have):
        return False
    if not all(have):
        lacking = [str(m.path) for m, h in zip(members, have, strict=True) if not h]
        context.notes.append(f"no score sidecar beside {', '.join(lacking)}: voting on the run files instead")
        return False
    context.notes.append("score sidecars of every run: their scores were averaged (not the runs' decisions)")
    return True


@register("label_sets")
def fuse_label_sets(members: Sequence[Member], context: FusionContext) -> list[dict[str, Any]]:
    """Concepts: labels whose weighted vote share reaches `threshold` (or, with sidecars, whose mean
    score reaches the mean stored threshold), most supported first (ties: the order they first appear
    in), at most the task's maximum per item, at least `min_labels` (the best supported)."""
    options = context.options
    ids = common_ids(members)
    limit = int(getattr(context.spec, "max_concepts", 100))
    if _with_sidecars(members, context):
        labels, scores = mean_scores(members, ids)
        thresholds = mean_thresholds(members, labels, options.threshold)
    else:
        # concepts are compared uppercased by the official evaluator: "c0000001" votes with "C0000001",
        # and the first run's spelling is written
        spelling: dict[str, str] = {}
        for item in ids:
            for member in members:
                for concept in member.parsed[item]:
                    spelling.setdefault(concept.upper(), concept)
        position = {key: j for j, key in enumerate(spelling)}
        labels = list(spelling.values())
        scores = np.zeros((len(ids), len(labels)))
        for member, weight in zip(members, normalised_weights(members), strict=True):
            for row, item in enumerate(ids):
                columns = sorted({position[c.upper()] for c in member.parsed[item]})
                scores[row, columns] += weight
        thresholds = np.full(len(labels), options.threshold)
    predictions = []
    for row, item in enumerate(ids):
        order = np.argsort(-scores[row], kind="stable")  # ties: the order labels first appeared in
        chosen = [j for j in order[:limit] if scores[row, j] >= thresholds[j] - 1e-9]
        if len(chosen) < options.min_labels:
            chosen = [j for j in order[: options.min_labels] if scores[row, j] > 0]
        predictions.append({"id": item, "concepts": [labels[j] for j in chosen]})
    return predictions


@register("answers")
def fuse_answers(members: Sequence[Member], context: FusionContext) -> list[dict[str, Any]]:
    """VQA: the answer with the largest weighted vote (answers equal after the evaluator's normalisation
    vote together; a tie goes to the earlier run's answer) or, with sidecars, the largest mean probability."""
    from baselines.evaluation.vqamed import normalize_answer

    ids = common_ids(members)
    weights = normalised_weights(members)
    if _with_sidecars(members, context):
        labels, scores = mean_scores(members, ids)
        return [{"id": item, "answer": labels[int(np.argmax(scores[row]))]} for row, item in enumerate(ids)]
    predictions = []
    for item in ids:
        support: dict[str, float] = {}
        spelling: dict[str, str] = {}
        for member, weight in zip(members, weights, strict=True):
            answer = member.parsed[item]
            key = normalize_answer(answer)
            support[key] = support.get(key, 0.0) + weight
            spelling.setdefault(key, answer)  # the first run's spelling of an answer is written
        best = max(support.values())
        winner = next(key for key in support if support[key] >= best - 1e-9)  # dicts keep run order
        predictions.append({"id": item, "answer": spelling[winner]})
    return predictions
