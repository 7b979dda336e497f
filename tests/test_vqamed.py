"""VQA-Med: the official evaluator's rules on hand-computed cases, the validators, VQA and VQG pipelines."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.data.base import collate_dicts
from baselines.evaluation.vqamed import accuracy, bleu, bleu_words, normalize_answer, question_bleu, sentence_score
from baselines.pipeline import run
from conftest import train_steps

Compose = Callable[..., DictConfig]
TINY = ("synthetic.n_train=24", "synthetic.n_test=4", "data.batch_size=4")


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  The two masses.", "2 masses"),
        ("Yes", "yes"),
        ("x-ray", "x ray"),
        ("1,000 cells", "1000 cells"),
        ("a cavity , left lung", "cavity left lung"),
        ("isnt it", "isn't it"),
        ("3.5 cm", "3.5 cm"),
        ("ten\tnodules\n", "10 nodules"),
    ],
)
def test_answer_normalisation(raw: str, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


def test_accuracy_exact_match_after_normalisation_rounded() -> None:
    truth = {"a": " Pulmonary embolism", "b": "yes", "c": "two", "d": "cyst#abscess"}
    run_answers = {"a": "pulmonary embolism.", "b": "no", "c": "2", "d": "abscess"}
    assert accuracy(run_answers, truth) == 0.75
    assert accuracy({"a": "x"}, {"a": "x", "b": "y", "c": "z"}) == round(1 / 3, 4) == 0.3333


def test_bleu_preprocessing_without_downloads() -> None:
    # lowercase, punctuation removed, Treebank tokens ("cannot" -> can not), stopwords dropped, stems
    assert bleu_words("The lesions cannot be seen, in the X-ray!") == ["lesion", "seen", "xray"]


def test_one_word_exact_match_scores_one_only_with_the_legacy_semantics() -> None:
    assert sentence_score("Embolism", "embolism", "legacy") == 1.0
    assert sentence_score("Embolism", "embolism", "nltk") < 1e-100  # NLTK >= 3.4: zero-count orders -> ~0


def test_legacy_bleu_by_hand() -> None:
    # "pleural effusion" vs "effusion": p1 = 1/1 kept, p2 = 0 dropped; brevity penalty exp(1 - 2/1)
    assert sentence_score("effusion", "pleural effusion") == pytest.approx(math.exp(-1))
    # two words in the wrong order: p1 = 2/2, the bigram order is dropped, no brevity penalty
    assert sentence_score("opacity round", "round opacity") == pytest.approx(1.0)
    # 5/5 unigrams, 2/4 bigrams, 1/3 trigrams ("left lower lobe"), no 4-gram (dropped): (1 * 1/2 * 1/3) ** (1/4)
    assert sentence_score("left lower lobe pneumonia mass", "left lower lobe mass pneumonia") == pytest.approx(
        (1 * 1 / 2 * 1 / 3) ** 0.25
    )


def test_stopword_only_answers_and_empty_cases() -> None:
    assert sentence_score("no", "no") == 1.0  # both empty after stopword removal
    assert sentence_score("no", "yes") == 0.0
    assert sentence_score("yes", "no") == 0.0


def test_bleu_alternatives_mean_and_rounding() -> None:
    truth = {"a": "cyst#abscess", "b": "round opacity", "c": "nodule"}
    run_answers = {"a": "abscess", "b": "opacity", "c": "mass"}
    expected = (1.0 + math.exp(1 - 2) + 0.0) / 3
    assert bleu(run_answers, truth) == round(expected, 4)


def test_question_bleu_takes_the_best_reference_per_question() -> None:
    truth = {"a": ["what is abnormal in the ct scan?", "is there a cavity?"]}
    assert question_bleu({"a": ["is there a cavity?"]}, truth) == 1.0
    assert question_bleu({"a": ["is there a cavity?", "unrelated words here"]}, truth) == 0.5
    assert question_bleu({}, truth) == 0.0


@pytest.mark.parametrize("name", ["vqa", "vqg"])
def test_fast_dev_run(demo_cfg: Compose, name: str) -> None:
    cfg = demo_cfg(name, *TINY, "debug=fast_dev_run")
    instantiate(cfg.synthetic)
    lines = Path(run(cfg)["run_file"]).read_text().splitlines()
    assert len(lines) == 4 and all(line.startswith("synpic9000") for line in lines)


def test_vqa_run_is_in_test_order_validated_and_scored(demo_cfg: Compose) -> None:
    cfg = demo_cfg("vqa", *TINY, "trainer.max_epochs=1")
    instantiate(cfg.synthetic)
    summary = run(cfg)
    assert set(summary["scores"]) == {"accuracy", "bleu"}
    ids = [line.split("|")[0] for line in Path(summary["run_file"]).read_text().splitlines()]
    questions = Path(cfg.data.predict_questions).read_text().splitlines()
    assert ids == [q.split("|")[0] for q in questions]


def test_vqa_overfits_one_batch_with_yes_no_routing(demo_cfg: Compose) -> None:
    torch.manual_seed(0)
    cfg = demo_cfg("vqa", *TINY)
    instantiate(cfg.synthetic)
    datamodule = instantiate(cfg.data)
    module = instantiate(cfg.model)
    module.build_head(datamodule.answers)
    batch = collate_dicts([datamodule.dataset("train")[i] for i in range(8)])
    losses = train_steps(module, batch, steps=40, lr=2e-3)
    with torch.no_grad():
        answers = module.answer(module(batch["image"], batch["question"]))
    assert losses[-1] < 0.05
    assert answers == [" ".join(a.lower().split()) for a in batch["answer"]]
    yes_no = [q.startswith("is ") for q in batch["question"]]
    assert all((a in ("yes", "no")) == asked for a, asked in zip(answers, yes_no, strict=True))
