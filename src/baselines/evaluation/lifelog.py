"""LMRT scores: P@10, CR@10 and F1@10 per topic, ranked by confidence (not file order), mean over topics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def rank(rows: Sequence[tuple[str, float]]) -> list[str]:
    """Image ids by descending confidence; ties keep file order."""
    order = sorted(range(len(rows)), key=lambda i: (-rows[i][1], i))
    return [rows[i][0] for i in order]


def topic_scores(ranked: Sequence[str], clusters: Mapping[str, str], cutoff: int = 10) -> dict[str, float]:
    """P@k, CR@k (clusters found / min(#clusters, k)) and their harmonic mean for one topic.

    Args:
        ranked: The run's image ids for the topic, best first.
        clusters: Relevant image id -> cluster id.
        cutoff: k.
    """
    top = list(ranked[:cutoff])
    relevant = [i for i in top if i in clusters]
    precision = len(relevant) / cutoff
    total_clusters = len(set(clusters.values()))
    recall = len({clusters[i] for i in relevant}) / min(total_clusters, cutoff) if total_clusters else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"p": precision, "cr": recall, "f1": f1}


def lmrt_scores(
    run: Mapping[str, Sequence[tuple[str, float]]], judgements: Mapping[str, Mapping[str, str]], cutoff: int = 10
) -> dict[str, float]:
    """Mean P@k, CR@k, F1@k over the judged topics; a topic missing from the run scores 0.

    Returns:
        `p@10`, `cr@10`, `f1@10` (for cutoff 10).
    """
    totals = {"p": 0.0, "cr": 0.0, "f1": 0.0}
    for topic, clusters in judgements.items():
        scores = topic_scores(rank(run.get(topic, ())), clusters, cutoff)
        for key in totals:
            totals[key] += scores[key]
    n = max(len(judgements), 1)
    return {f"{key}@{cutoff}": value / n for key, value in totals.items()}


def spll_scores(predictions: Mapping[str, float], truth: Mapping[str, float]) -> dict[str, float]:
    """Sign accuracy (the direction of the change) and mean absolute difference, over the truth ids.

    A missing prediction counts as a wrong sign and as 0 for the difference.
    """
    ids = list(truth)
    if not ids:
        return {"sign_accuracy": 0.0, "mae": 0.0}
    signs = sum(i in predictions and (predictions[i] > 0) == (truth[i] > 0) for i in ids)
    errors = sum(abs(predictions.get(i, 0.0) - truth[i]) for i in ids)
    return {"sign_accuracy": signs / len(ids), "mae": errors / len(ids)}
