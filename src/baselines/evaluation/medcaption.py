"""Medical caption scores: concept-detection F1 as the official (2018-2020) evaluator computes it, and
corpus BLEU / chrF for captions (sacrebleu)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from baselines.evaluation.resampling import ItemSums, PerResample, integer_sums


def image_f1(truth: set[str], predicted: set[str]) -> float:
    """Binary F1 over the union of both concept sets (sklearn's f1_score on that union, by hand)."""
    true_positives = len(truth & predicted)
    if true_positives == 0:
        return 0.0
    precision = true_positives / len(predicted)
    recall = true_positives / len(truth)
    return 2 * precision * recall / (precision + recall)


def concept_f1(predictions: Mapping[str, Sequence[str]], ground_truth: Mapping[str, Sequence[str]]) -> float:
    """Mean per-image F1 over the ground-truth images; images whose ground truth is empty are skipped
    (left out of the mean), and a ground-truth image without a prediction scores 0.

    Concepts are compared uppercased and otherwise as given, as the official evaluator does: a predicted
    empty concept (from `C1;;C2`) or one with spaces counts as a false positive. Without any ground-truth
    concept the score is 0.0 (the official evaluator divides by zero).
    """
    scores = [score for score in image_f1s(predictions, ground_truth) if score is not None]
    return sum(scores) / len(scores) if scores else 0.0


def image_f1s(
    predictions: Mapping[str, Sequence[str]], ground_truth: Mapping[str, Sequence[str]]
) -> list[float | None]:
    """Per ground-truth image, in its order: its F1, None when its ground truth is empty (not scored)."""
    scores: list[float | None] = []
    for image_id, truth in ground_truth.items():
        expected = {c.upper() for c in truth if c}
        scores.append(image_f1(expected, {c.upper() for c in predictions.get(image_id, ())}) if expected else None)
    return scores


def concept_resampling(predictions: Mapping[str, Sequence[str]], ground_truth: Mapping[str, Sequence[str]]) -> ItemSums:
    """Resamples of `concept_f1` (`f1`): per-image F1 and whether the image is scored, summed."""
    scores = image_f1s(predictions, ground_truth)
    values = {
        "f1": np.asarray([0.0 if score is None else score for score in scores]),  # adding 0.0 changes no sum
        "scored": np.asarray([score is not None for score in scores], np.int64),
    }

    def finish(sums: dict[str, np.ndarray], items: int) -> dict[str, np.ndarray]:
        scored = sums["scored"]
        return {"f1": np.where(scored > 0, sums["f1"] / np.maximum(scored, 1), 0.0)}

    return ItemSums(values, finish)


def _caption_metrics() -> tuple[Any, Any]:
    """sacrebleu's corpus BLEU-4 (lowercased) and chrF with `corpus_bleu` / `corpus_chrf`'s defaults."""
    from sacrebleu.metrics import BLEU, CHRF  # an optional extra, needed only to score captions

    return BLEU(lowercase=True), CHRF()


def caption_scores(predictions: Mapping[str, str], ground_truth: Mapping[str, str]) -> dict[str, float]:
    """Corpus BLEU-4 and chrF (sacrebleu defaults, lowercased), in [0, 1], over the ground-truth images."""
    ids = list(ground_truth)
    hypotheses = [predictions.get(i, "") for i in ids]
    references = [[ground_truth[i] for i in ids]]
    bleu, chrf = _caption_metrics()
    return {
        "bleu": bleu.corpus_score(hypotheses, references).score / 100.0,
        "chrf": chrf.corpus_score(hypotheses, references).score / 100.0,
    }


def caption_resampling(predictions: Mapping[str, str], ground_truth: Mapping[str, str]) -> PerResample:
    """Resamples of `caption_scores`: sacrebleu scores a corpus from the sums of per-sentence statistics
    (n-gram matches and totals, lengths: whole numbers), so each caption's statistics are taken once,
    summed with the resample's multiplicities, and scored by the metric's own `_compute_score_from_stats`
    (what sacrebleu's `corpus_score` and its paired bootstrap do with the same sums)."""
    ids = list(ground_truth)
    hypotheses = [predictions.get(i, "") for i in ids]
    references = [[ground_truth[i] for i in ids]]
    bleu, chrf = _caption_metrics()
    bleu_stats = np.asarray(bleu._extract_corpus_statistics(hypotheses, references), np.int64).reshape(len(ids), -1)
    chrf_stats = np.asarray(chrf._extract_corpus_statistics(hypotheses, references), np.int64).reshape(len(ids), -1)
    split = bleu_stats.shape[1]

    def finish(sums: list[float]) -> dict[str, float]:
        return {
            "bleu": bleu._compute_score_from_stats(sums[:split]).score / 100.0,
            "chrf": chrf._compute_score_from_stats(sums[split:]).score / 100.0,
        }

    stats = np.concatenate([bleu_stats, chrf_stats], axis=1)
    return PerResample(lambda draws: integer_sums(stats, draws), finish)
