"""The VQA LightningModule: image + question -> one answer of the training answer vocabulary.

The question steers the answer as most VQA-Med 2019 participants did (Ben Abacha et al., "VQA-Med: Overview
of the Medical Visual Question Answering Task at ImageCLEF 2019", CLEF 2019 Working Notes, section 5: a
question classifier routes each question to the answers of its category): a question-type head reads the
question alone, and the answer is chosen among the answers seen with that type in training (types:
baselines.data.vqamed.question_type). Training masks the answers with the true type, so the true answer is
never masked out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from baselines.data.vqamed import YES_NO, answer_targets
from baselines.evaluation.vqamed import accuracy
from baselines.models.base import Optim
from baselines.models.tta import TTA, mean_over_views
from baselines.models.vocabulary import VocabularyHeadModule
from baselines.text.tokenizers import load_tokenizer


class VQAModule(VocabularyHeadModule):
    """Image features and the question's first-token features, projected and fused (product + concat),
    then an MLP classifier over the answers seen in training, routed by a question-type head.

    Args:
        image_net: Pooled image features with `num_features` (timm, num_classes=0).
        text_net: A BERT-style encoder with `config.hidden_size`.
        tokenizer: Hub name or folder of the question tokenizer.
        fusion_dim: Width of the projected image and question features.
        dropout: Dropout in the classifier.
        max_question_length: Question tokens kept.
        type_routing: A question is answered only with the answers seen with its predicted type in training
            (`yes/no`, a category, `open`); off: any answer.
        optim: Optimizer, scheduler and how the network runs (see BaseModule).
        tta: Test-time augmentation of the image at predict time: the mean of the views' logits (the
            question is encoded once; off when None).
    """

    vocabulary_attribute = "answers"

    def __init__(
        self,
        image_net: nn.Module,
        text_net: nn.Module,
        tokenizer: str,
        optim: Optim,
        fusion_dim: int = 512,
        dropout: float = 0.2,
        max_question_length: int = 48,
        type_routing: bool = True,
        tta: TTA | None = None,
    ) -> None:
        super().__init__(optim)
        self.tta = tta
        self.image_net = image_net
        self.text_net = text_net
        self.tokenizer = load_tokenizer(tokenizer)
        self.image_projection = nn.Linear(int(getattr(image_net, "num_features")), fusion_dim)  # noqa: B009
        self.text_projection = nn.Linear(int(getattr(text_net, "config").hidden_size), fusion_dim)  # noqa: B009
        self.fusion = nn.Sequential(nn.Linear(3 * fusion_dim, fusion_dim), nn.GELU(), nn.Dropout(dropout))
        self.fusion_dim = fusion_dim
        self.max_question_length = max_question_length
        self.type_routing = type_routing
        self.head = None
        self.vocabulary = []
        self.question_types: list[str] = []
        self.type_head: nn.Linear | None = None
        self.type_masks: torch.Tensor
        self._val_pairs: list[tuple[str, str]] = []

    def head_features(self) -> int:
        return self.fusion_dim

    def compiled_networks(self) -> list[nn.Module]:
        return [self.image_net, self.text_net]

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if self.head is None and getattr(datamodule, "answers", None):
            self.build_head(datamodule.answers, datamodule.answer_types)  # type: ignore[union-attr]
        super().setup(stage)

    def build_head(self, vocabulary: list[str], answer_types: Mapping[str, Sequence[str]] | None = None) -> None:
        """The answer layer, the question-type head and, per type, the answers it may give.

        Args:
            answer_types: Question type -> its answers (the data module's `answer_types`); None: `yes/no`
                for yes and no, `open` for the others.
        """
        super().build_head(vocabulary)
        if answer_types is None:
            answer_types = {"open": [a for a in vocabulary if a not in YES_NO], "yes/no": [*YES_NO]}
        self.question_types = sorted(answer_types)
        index = {a: k for k, a in enumerate(self.vocabulary)}
        masks = torch.zeros(len(self.question_types), len(self.vocabulary), dtype=torch.bool)
        for row, name in enumerate(self.question_types):
            masks[row, [index[a] for a in answer_types[name] if a in index]] = True
        self.register_buffer("type_masks", masks.to(self.device))
        self.type_head = nn.Linear(self.fusion_dim, len(self.question_types), device=self.device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["question_types"] = self.question_types

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        saved = checkpoint.get("question_types")
        if saved is not None and self.question_types and saved != self.question_types:
            raise ValueError(
                f"the checkpoint routes questions by the types {saved}, but this data module's training files give "
                f"{self.question_types}; use the same training files and data.question_categories as in training"
            )

    def encode_questions(self, questions: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(
            questions, padding=True, truncation=True, max_length=self.max_question_length, return_tensors="pt"
        ).to(self.device)
        text = self.text_net(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).last_hidden_state
        return self.text_projection(text[:, 0])

    def answer_logits(
        self, images: torch.Tensor, question: torch.Tensor, image_index: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Answer logits (before routing) from images and encoded questions; `image_index[k]` is the image of
        question k (default: question k asks about image k), so an image asked several questions is encoded
        once."""
        if self.head is None:
            raise RuntimeError("call build_head(answers) (or fit/predict with a data module) first")
        image = self.image_projection(self.image_net(self.prepare_images(images)))
        if image_index is not None:
            image = image[image_index]
        return self.head(self.fusion(torch.cat([image * question, image, question], 1)))

    def type_logits(self, question: torch.Tensor) -> torch.Tensor:
        """Question-type logits from encoded questions."""
        assert self.type_head is not None
        return self.type_head(question)

    def forward(
        self,
        images: torch.Tensor,
        questions: list[str],
        tta: TTA | None = None,
        image_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Answer logits, routed by the predicted question type when set; with `tta`, the mean of the image
        views' logits (the question encoded once), routed after the mean."""
        encoded = self.encode_questions(questions)
        logits = mean_over_views(
            tta, self.prepare_images(images), lambda x: self.answer_logits(x, encoded, image_index)
        )
        return self.route(logits, self.type_logits(encoded).argmax(1)) if self.type_routing else logits

    def route(self, logits: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        """Logits with the answers outside each question's type (`types`: indices into question_types) at the
        lowest value."""
        return logits.masked_fill(~self.type_masks[types], torch.finfo(logits.dtype).min)

    def _targets(self, answers: list[str]) -> torch.Tensor:
        return answer_targets(answers, {a: i for i, a in enumerate(self.vocabulary)}).to(self.device)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        questions, answers, types, image_index = flatten_questions(batch)
        encoded = self.encode_questions(questions)
        logits = self.answer_logits(batch["image"], encoded, image_index.to(self.device))
        targets = self._targets(answers)
        if not self.type_routing:
            loss = F.cross_entropy(logits, targets, ignore_index=-100)
        else:
            type_targets = torch.tensor([self.question_types.index(t) for t in types], device=self.device)
            loss = F.cross_entropy(self.route(logits, type_targets), targets, ignore_index=-100)
            loss = loss + F.cross_entropy(self.type_logits(encoded), type_targets)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(questions))
        return loss

    def answer(self, logits: torch.Tensor) -> list[str]:
        return [self.vocabulary[i] for i in logits.argmax(1).tolist()]

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch["image"], batch["question"])
        self._val_pairs += list(zip(self.answer(logits), batch["answer"], strict=True))

    def on_validation_epoch_end(self) -> None:
        if self._val_pairs:
            predicted = {str(i): p for i, (p, _) in enumerate(self._val_pairs)}
            truth = {str(i): t for i, (_, t) in enumerate(self._val_pairs)}
            self.log("val/accuracy", accuracy(predicted, truth), prog_bar=True)
        self._val_pairs.clear()

    def score_sidecar_info(self) -> dict[str, Any]:
        return {"labels": list(self.vocabulary)}

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        logits = self(batch["image"], batch["question"], self.tta)
        answers = self.answer(logits)
        distribution = logits.float().softmax(1).cpu().numpy() if self.emit_raw_scores else None
        results = []
        for i in range(len(answers)):
            result = {"id": batch["id"][i], "index": int(batch["index"][i]), "answer": answers[i]}
            if distribution is not None:
                result["raw_scores"] = distribution[i]  # the answer distribution (routed-out answers at 0)
            results.append(result)
        return results


def flatten_questions(batch: dict[str, Any]) -> tuple[list[str], list[str], list[str], torch.Tensor]:
    """Questions, answers and question types of a training batch, one per question, and the index of each
    question's image in the batch. Items hold one question each, or (grouped by image) lists of them."""
    questions: list[str] = []
    answers: list[str] = []
    types: list[str] = []
    image_index: list[int] = []
    for k, (question, answer, kind) in enumerate(
        zip(batch["question"], batch["answer"], batch["question_type"], strict=True)
    ):
        grouped = isinstance(question, list)
        questions += question if grouped else [question]
        answers += answer if grouped else [answer]
        types += kind if grouped else [kind]
        image_index += [k] * (len(question) if grouped else 1)
    return questions, answers, types, torch.tensor(image_index)
