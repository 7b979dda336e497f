"""tbct's AUCs and caption's corpus BLEU / chrF scored from per-item arrays equal, to the last bit, the
per-resample rescoring (`restrict` + `score`) on cases larger and more tied than the pinned ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from baselines.evaluation.auc import resampled_roc_auc
from baselines.tasks import get_task
from baselines.tasks.medcaption import CaptionReference
from baselines.tasks.tuberculosis import CTReference


def _draws(items: int, resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, items, (resamples, items))


def test_auc_of_draws_is_sklearns_with_ties_and_repeats() -> None:
    rng = np.random.default_rng(3)
    truth = (rng.random(40) < 0.3).astype(float)
    scores = rng.choice([0.1, 0.25, 0.5, 0.7, 0.9, 1 / 3], 40)  # many ties across the classes
    draws = np.vstack([_draws(40, 200, 4), np.zeros((1, 40), np.int64)])  # the last: one item, one class
    got = resampled_roc_auc(truth, scores, draws)
    expected = [roc_auc_score(truth[row], scores[row]) if len(set(truth[row])) == 2 else np.nan for row in draws]
    np.testing.assert_array_equal(got, expected)  # exact, NaN where equal
    assert np.isnan(got[-1]) and not np.isnan(got[:-1]).any()


def _rescored(task: str, run: object, reference: object, items: list[str], draws: np.ndarray) -> dict[str, list]:
    spec = get_task(task)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tbct warns of one-class labels in small resamples
        for row in draws:
            rows.append(spec.score(*spec.restrict(run, reference, [items[i] for i in row])))
    return {metric: [row[metric] for row in rows] for metric in rows[0]}


@pytest.mark.parametrize("seed", [0, 1])
def test_tbct_from_arrays_equals_rescoring(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = {f"CT{i:02d}.nii.gz": (rng.random(6) < [0.5, 0.5, 0.2, 0.2, 0.1, 0.05]).astype(float) for i in range(30)}
    run = {ct: rng.choice([0.0, 0.2, 0.5, 0.8, 1.0, 0.123456], 6) for ct in labels}
    reference = CTReference(set(labels), labels)
    spec = get_task("tbct")
    items = spec.scored_items(reference)
    draws = _draws(len(items), 80, seed + 10)
    resampling = spec.resampling(run, reference, items)
    assert resampling is not None
    got = resampling.scores(draws)
    expected = _rescored("tbct", run, reference, items, draws)
    assert list(got) == list(expected)
    for metric, values in expected.items():
        np.testing.assert_array_equal(got[metric], values, err_msg=metric)
    assert np.isnan(got["mean_auc_official"]).any()  # rare labels: some resamples have one class


def test_caption_from_arrays_equals_rescoring() -> None:
    rng = np.random.default_rng(5)
    words = ["the", "chest", "x", "ray", "shows", "a", "mass", "in", "left", "lung", "CT", "of", "head", "."]
    truth = {f"i{i}": " ".join(rng.choice(words, int(rng.integers(1, 12)))) for i in range(25)}
    run = {image: " ".join(rng.choice(words, int(rng.integers(0, 10)))) for image in list(truth)[:-3]}  # 3 missing
    reference = CaptionReference(set(truth), truth)
    spec = get_task("caption")
    items = spec.scored_items(reference)
    draws = _draws(len(items), 60, 6)
    got = spec.resampling(run, reference, items).scores(draws)
    expected = _rescored("caption", run, reference, items, draws)
    assert list(got) == ["bleu", "chrf"] == list(expected)
    for metric, values in expected.items():
        np.testing.assert_array_equal(got[metric], values, err_msg=metric)
    assert len(set(got["bleu"].tolist())) > 10  # the resamples do differ
