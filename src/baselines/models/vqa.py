"""The VQA LightningModule: image + question -> one answer of the training answer vocabulary."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig, BertModel, PreTrainedModel

from baselines.data.vqamed import answer_targets
from baselines.evaluation.vqamed import accuracy
from baselines.models.base import OptimizerFactory, SchedulerFactory
from baselines.models.captioners import _pretrained
from baselines.models.tta import TTA, mean_over_views
from baselines.models.vocabulary import VocabularyHeadTask
from baselines.text.tokenizers import load_tokenizer

YES_NO_STARTS = frozenset("is are does do did was were can could has have had will would should".split())


def bert_encoder(
    tokenizer: str,
    name: str | None = None,
    hidden_size: int = 256,
    layers: int = 4,
    attention_heads: int = 4,
    max_positions: int = 64,
) -> PreTrainedModel:
    """A BERT-style question encoder: pretrained (hub name or folder) or random init of the given sizes."""
    if name is not None:
        return _pretrained(BertModel, name, {"add_pooling_layer": False})
    config = BertConfig(
        vocab_size=len(load_tokenizer(tokenizer)),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=attention_heads,
        intermediate_size=4 * hidden_size,
        max_position_embeddings=max_positions,
    )
    return BertModel(config, add_pooling_layer=False)


class VQATask(VocabularyHeadTask):
    """Image features and the question's first-token features, projected and fused (product + concat),
    then an MLP classifier over the answers seen in training.

    Args:
        image_net: Pooled image features with `num_features` (timm, num_classes=0).
        text_net: A BERT-style encoder with `config.hidden_size`.
        tokenizer: Hub name or folder of the question tokenizer.
        fusion_dim: Width of the projected image and question features.
        dropout: Dropout in the classifier.
        max_question_length: Question tokens kept.
        yes_no_routing: Questions starting with is/are/does/... answer yes or no only; others never do.
        optimizer, scheduler, scheduler_interval, monitor, channels_last, compile_model: See BaseTask.
        tta: Test-time augmentation of the image at predict time: the mean of the views' logits (the
            question is encoded once; off when None).
    """

    vocabulary_attribute = "answers"

    def __init__(
        self,
        image_net: nn.Module,
        text_net: nn.Module,
        tokenizer: str,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        fusion_dim: int = 512,
        dropout: float = 0.2,
        max_question_length: int = 48,
        yes_no_routing: bool = True,
        scheduler_interval: str = "epoch",
        monitor: str | None = "val/accuracy",
        channels_last: bool = False,
        compile_model: bool = False,
        tta: TTA | None = None,
    ) -> None:
        super().__init__(optimizer, scheduler, scheduler_interval, monitor, channels_last, compile_model)
        self.tta = tta
        self.image_net = image_net
        self.text_net = text_net
        self.tokenizer = load_tokenizer(tokenizer)
        self.image_projection = nn.Linear(int(getattr(image_net, "num_features")), fusion_dim)  # noqa: B009
        self.text_projection = nn.Linear(int(getattr(text_net, "config").hidden_size), fusion_dim)  # noqa: B009
        self.fusion = nn.Sequential(nn.Linear(3 * fusion_dim, fusion_dim), nn.GELU(), nn.Dropout(dropout))
        self.fusion_dim = fusion_dim
        self.max_question_length = max_question_length
        self.yes_no_routing = yes_no_routing
        self.head = None
        self.vocabulary = []
        self._val_pairs: list[tuple[str, str]] = []

    def head_features(self) -> int:
        return self.fusion_dim

    def compiled_networks(self) -> list[nn.Module]:
        return [self.image_net, self.text_net]

    def encode_questions(self, questions: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(
            questions, padding=True, truncation=True, max_length=self.max_question_length, return_tensors="pt"
        ).to(self.device)
        text = self.text_net(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).last_hidden_state
        return self.text_projection(text[:, 0])

    def answer_logits(self, images: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        """Answer logits (before the yes/no routing) from images and encoded questions."""
        if self.head is None:
            raise RuntimeError("call build_head(answers) (or fit/predict with a data module) first")
        image = self.image_projection(self.image_net(self.prepare_images(images)))
        return self.head(self.fusion(torch.cat([image * question, image, question], 1)))

    def forward(self, images: torch.Tensor, questions: list[str], tta: TTA | None = None) -> torch.Tensor:
        """Answer logits, routed yes/no when set; with `tta`, the mean of the image views' logits (the
        question encoded once), routed after the mean."""
        encoded = self.encode_questions(questions)
        logits = mean_over_views(tta, self.prepare_images(images), lambda x: self.answer_logits(x, encoded))
        return self.route(logits, questions) if self.yes_no_routing else logits

    def route(self, logits: torch.Tensor, questions: list[str]) -> torch.Tensor:
        binary = torch.tensor([a in ("yes", "no") for a in self.vocabulary], device=logits.device)
        if not binary.any() or binary.all():
            return logits
        asks_yes_no = torch.tensor(
            [(q.strip().lower().split() or [""])[0] in YES_NO_STARTS for q in questions], device=logits.device
        )
        allowed = torch.where(asks_yes_no[:, None], binary[None, :], ~binary[None, :])
        return logits.masked_fill(~allowed, torch.finfo(logits.dtype).min)

    def _targets(self, answers: list[str]) -> torch.Tensor:
        return answer_targets(answers, {a: i for i, a in enumerate(self.vocabulary)}).to(self.device)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        logits = self(batch["image"], batch["question"])
        loss = F.cross_entropy(logits, self._targets(batch["answer"]), ignore_index=-100)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["id"]))
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
