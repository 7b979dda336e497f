"""LMRT scores: P@10, CR@10 and F1@10 per topic, ranked by confidence (not file order), mean over topics.

CR@X = clusters among the top X / all clusters of the topic (not min(clusters, X)): the organisers' 2018
evaluator (crowdAI/CLEF_evaluators_2018 lifelog_lmrt_evaluator.py, `recall = sum(cluster_found) /
no_clusters`) and the MediaEval diversity tool the metric comes from (div_eval.jar, whose documented output
has CR@5 = 0.2353 = 4/17 for a query of 17 clusters) both divide by all clusters. docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from baselines.evaluation.resampling import ItemSums


def rank(rows: Sequence[tuple[str, float]]) -> list[str]:
    """Image ids by descending confidence; ties keep file order."""
    order = sorted(range(len(rows)), key=lambda i: (-rows[i][1], i))
    return [rows[i][0] for i in order]


def topic_scores(
    ranked: Sequence[str], clusters: Mapping[str, Hashable], cutoff: int = 10, total_clusters: int | None = None
) -> dict[str, float]:
    """P@k, CR@k (clusters found / all clusters of the topic) and their harmonic mean for one topic.

    Args:
        ranked: The run's image ids for the topic, best first.
        clusters: Relevant image id -> cluster.
        cutoff: k.
        total_clusters: The topic's number of clusters (default: the distinct clusters of `clusters`).
    """
    top = list(ranked[:cutoff])
    relevant = [i for i in top if i in clusters]
    precision = len(relevant) / cutoff
    if total_clusters is None:
        total_clusters = len(set(clusters.values()))
    recall = len({clusters[i] for i in relevant}) / total_clusters if total_clusters else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"p": precision, "cr": recall, "f1": f1}


def lmrt_scores(
    run: Mapping[str, Sequence[tuple[str, float]]],
    judgements: Mapping[str, Mapping[str, Hashable]],
    cutoff: int = 10,
    cluster_counts: Mapping[str, int] | None = None,
) -> dict[str, float]:
    """Mean P@k, CR@k, F1@k over the judged topics; a topic missing from the run scores 0.

    Args:
        cluster_counts: Topic -> its number of clusters (e.g. from the clusters file); default: counted
            from the judgements.

    Returns:
        `p@10`, `cr@10`, `f1@10` (for cutoff 10).
    """
    totals = {"p": 0.0, "cr": 0.0, "f1": 0.0}
    for scores in per_topic_scores(run, judgements, cutoff, cluster_counts):
        for key in totals:
            totals[key] += scores[key]
    n = max(len(judgements), 1)
    return {f"{key}@{cutoff}": value / n for key, value in totals.items()}


def per_topic_scores(
    run: Mapping[str, Sequence[tuple[str, float]]],
    judgements: Mapping[str, Mapping[str, Hashable]],
    cutoff: int = 10,
    cluster_counts: Mapping[str, int] | None = None,
) -> list[dict[str, float]]:
    """`topic_scores` of each judged topic, in the judgements' order (a topic missing from the run: 0)."""
    return [
        topic_scores(
            rank(run.get(topic, ())),
            clusters,
            cutoff,
            cluster_counts.get(topic) if cluster_counts is not None else None,
        )
        for topic, clusters in judgements.items()
    ]


def lmrt_resampling(
    run: Mapping[str, Sequence[tuple[str, float]]],
    judgements: Mapping[str, Mapping[str, Hashable]],
    cutoff: int = 10,
    cluster_counts: Mapping[str, int] | None = None,
) -> ItemSums:
    """Resamples of `lmrt_scores`: per-topic P, CR and F1 summed in draw order, over the topics drawn."""
    topics = per_topic_scores(run, judgements, cutoff, cluster_counts)
    values = {key: np.asarray([scores[key] for scores in topics], np.float64) for key in ("p", "cr", "f1")}

    def finish(sums: dict[str, np.ndarray], items: int) -> dict[str, np.ndarray]:
        return {f"{key}@{cutoff}": total / max(items, 1) for key, total in sums.items()}

    return ItemSums(values, finish)


def spll_scores(predictions: Mapping[str, float], truth: Mapping[str, float]) -> dict[str, float]:
    """Sign accuracy (the direction of the change) and mean absolute difference, over the truth ids.

    A missing prediction counts as a wrong sign and as 0 for the difference.
    """
    ids = list(truth)
    if not ids:
        return {"sign_accuracy": 0.0, "mae": 0.0}
    signs = sum(_signs(predictions, truth))
    errors = sum(_errors(predictions, truth))
    return {"sign_accuracy": signs / len(ids), "mae": errors / len(ids)}


def _signs(predictions: Mapping[str, float], truth: Mapping[str, float]) -> list[int]:
    return [int(i in predictions and (predictions[i] > 0) == (truth[i] > 0)) for i in truth]


def _errors(predictions: Mapping[str, float], truth: Mapping[str, float]) -> list[float]:
    return [abs(predictions.get(i, 0.0) - truth[i]) for i in truth]


def spll_resampling(predictions: Mapping[str, float], truth: Mapping[str, float]) -> ItemSums:
    """Resamples of `spll_scores`: per-participant right signs and absolute differences, summed."""
    values = {
        "sign_accuracy": np.asarray(_signs(predictions, truth), np.int64),
        "mae": np.asarray(_errors(predictions, truth), np.float64),
    }

    def finish(sums: dict[str, np.ndarray], items: int) -> dict[str, np.ndarray]:
        return {name: total / items for name, total in sums.items()}

    return ItemSums(values, finish)
