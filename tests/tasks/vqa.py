"""VQA-Med: an image and question encoder with one answer head per question type."""

from __future__ import annotations

from typing import Any

import torch

from baselines.models.vqa import flatten_questions
from tasks import Overfit, TaskKit
from tasks._nets import VQA_NET


def _size_heads(module: Any, datamodule: Any) -> None:
    module.build_head(datamodule.answers, datamodule.answer_types)
    assert module.question_types == ["open", "yes/no"]  # no category files: yes/no and the others


def _answers_its_questions(module: Any, batch: dict[str, Any]) -> None:
    questions, truth, _, image_index = flatten_questions(batch)
    with torch.no_grad():
        answers = module.answer(module(batch["image"], questions, image_index=image_index))
    assert answers == [" ".join(a.lower().split()) for a in truth]
    yes_no = [q.startswith("is ") for q in questions]  # routed by type: yes/no questions get yes or no
    assert all((a in ("yes", "no")) == asked for a, asked in zip(answers, yes_no, strict=True))


KIT = TaskKit(
    name="vqa",
    tiny=("synthetic.n_train=24", "synthetic.n_test=4"),
    real=("model.tokenizer={data}/vqamed/tokenizer", *VQA_NET),
    overfit=Overfit(
        items=8,
        steps=40,
        lr=2e-3,
        final_loss=0.05,
        overrides=("data.loader.batch_size=4",),
        prepare=_size_heads,
        memorised=_answers_its_questions,
    ),
)
