"""A base for modules whose output layer is sized by a label vocabulary built from the training data
(concepts, answers): the head is created in `setup` from the data module's vocabulary, and the
vocabulary is stored in checkpoints and checked when one is loaded."""

from __future__ import annotations

from typing import Any

from torch import nn

from baselines.models.base import BaseModule


class VocabularyHeadModule(BaseModule):
    """Subclasses set `vocabulary_attribute` (the data module's attribute) and implement `head_features`."""

    vocabulary_attribute = "vocabulary"
    head: nn.Linear | None
    vocabulary: list[str]

    def head_features(self) -> int:
        """Width of the features the head reads."""
        raise NotImplementedError

    def build_head(self, vocabulary: list[str]) -> None:
        """Creates the output layer for vocabulary (also usable without a Trainer, e.g. in tests)."""
        self.vocabulary = list(vocabulary)
        self.head = nn.Linear(self.head_features(), len(vocabulary), device=self.device)

    def setup(self, stage: str) -> None:
        if getattr(self, "head", None) is None:
            datamodule = getattr(self.trainer, "datamodule", None)
            vocabulary = getattr(datamodule, self.vocabulary_attribute, None)
            if not vocabulary:
                raise ValueError(
                    f"{type(self).__name__} needs a data module with a non-empty `{self.vocabulary_attribute}`"
                )
            self.build_head(vocabulary)
        super().setup(stage)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["vocabulary"] = self.vocabulary

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        saved = checkpoint.get("vocabulary")
        if saved is not None and self.vocabulary and saved != self.vocabulary:
            raise ValueError(
                f"the checkpoint was trained on a vocabulary of {len(saved)} labels that differs from the one built "
                f"from this data module's training file ({len(self.vocabulary)}); use the same training file "
                "and frequency cut-off as in training (e.g. the same train_concepts and min_concept_frequency)"
            )
