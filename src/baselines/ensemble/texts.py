"""Text runs (captions, VQG questions): a consensus pick per item.

Texts cannot be averaged, so per item the runs' candidates compete: each scores its weighted mean
BLEU to the other runs' candidates, and the best one is written (ties: the earlier run). BLEU here is
sacrebleu's smoothed, lowercased sentence BLEU: smoothing keeps short texts (a one-line question) from
scoring 0 on a missing 4-gram, so near-agreement still counts.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from baselines.ensemble.base import FusionContext, Member, common_ids, register


@functools.lru_cache(maxsize=65536)
def sentence_similarity(hypothesis: str, reference: str) -> float:
    """BLEU in [0, 1] of one text against another; 1 for texts equal up to case and spacing."""
    if " ".join(hypothesis.lower().split()) == " ".join(reference.lower().split()):
        return 1.0
    import sacrebleu  # an optional extra (the caption scorer needs it too)

    return float(sacrebleu.sentence_bleu(hypothesis, [reference], lowercase=True).score) / 100.0


def entry_similarity(candidate: Sequence[str], other: Sequence[str]) -> float:
    """Mean over the candidate's texts of their best BLEU against the other entry's texts (for one
    caption each, plain sentence BLEU; for question lists, the VQG score's per-image aggregation)."""
    if not candidate or not other:
        return float(not candidate and not other)
    return sum(max(sentence_similarity(c, o) for o in other) for c in candidate) / len(candidate)


def consensus(entries: Sequence[Sequence[str]], weights: Sequence[float]) -> int:
    """Index of the entry with the highest weighted mean similarity to the other entries (first on ties)."""
    if len(entries) == 1:
        return 0
    best, best_score = 0, -1.0
    for i, entry in enumerate(entries):
        others = [j for j in range(len(entries)) if j != i]
        total = sum(weights[j] for j in others)
        score = sum(weights[j] * entry_similarity(entry, entries[j]) for j in others) / total
        if score > best_score + 1e-12:
            best, best_score = i, score
    return best


def _pick(members: Sequence[Member]) -> dict[str, list[str]]:
    weights = [m.weight for m in members]
    picked = {}
    for item in common_ids(members):
        entries = [m.parsed[item] for m in members]
        entries = [[e] if isinstance(e, str) else list(e) for e in entries]
        picked[item] = entries[consensus(entries, weights)]
    return picked


@register("texts")
def fuse_texts(members: Sequence[Member], context: FusionContext) -> list[dict[str, Any]]:
    """Captions: the consensus caption per image; VQG: the consensus question list per image (one run's
    whole line)."""
    return [{"id": item, "texts": texts} for item, texts in _pick(members).items()]
