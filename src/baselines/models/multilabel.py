"""The multi-label LightningModule (medical concept detection): image -> set of labels.

The label vocabulary comes from the training data (the data module's `vocabulary`), so the output
layer is created in `setup`; the vocabulary is stored in checkpoints and checked when one is loaded.
Decision thresholds are tuned on the validation set with the official per-image F1 at the end of
every validation epoch and saved with the weights.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from timm.loss import AsymmetricLossMultiLabel
from torch import nn

from baselines.models.base import Optim
from baselines.models.tta import TTA, mean_over_views
from baselines.models.vocabulary import VocabularyHeadModule

THRESHOLD_GRID = torch.linspace(0.02, 0.98, 49)


def per_image_f1(selected: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean F1 per image over images with at least one true label (the official concept F1)."""
    true_positives = (selected & targets).sum(1).float()
    denominator = selected.sum(1).float() + targets.sum(1).float()
    f1 = torch.where(true_positives > 0, 2 * true_positives / denominator.clamp(min=1), torch.zeros_like(denominator))
    has_truth = targets.any(1)
    return f1[has_truth].mean() if has_truth.any() else torch.tensor(0.0)


def decide(probabilities: torch.Tensor, thresholds: torch.Tensor, top_k: int, min_labels: int) -> torch.Tensor:
    """Labels above their threshold, at most top_k per image (most probable first), at least min_labels."""
    selected = probabilities >= thresholds
    ranks = probabilities.argsort(1, descending=True).argsort(1)
    selected &= ranks < top_k
    selected |= ranks < min_labels
    return selected


class MultiLabelModule(VocabularyHeadModule):
    """timm encoder + linear multi-label head.

    Args:
        net: A feature extractor returning pooled features, with `num_features` (timm, num_classes=0).
        optim: Optimizer, scheduler and how the network runs (see BaseModule).
        loss: "bce" or "asl" (asymmetric loss for the many negatives of large vocabularies).
        threshold_mode: "global" (one threshold) or "per_class", tuned on validation.
        top_k: Most labels per image.
        min_labels: Fewest labels per image (an empty prediction scores 0 F1 on a labelled image).
        dropout: Dropout before the head.
        tta: Test-time augmentation at predict time: the mean of the views' logits (off when None).
    """

    def __init__(
        self,
        net: nn.Module,
        optim: Optim,
        loss: Literal["bce", "asl"] = "bce",
        threshold_mode: Literal["global", "per_class"] = "global",
        top_k: int = 100,
        min_labels: int = 1,
        dropout: float = 0.0,
        tta: TTA | None = None,
    ) -> None:
        super().__init__(optim)
        self.net = net
        self.tta = tta
        self.loss_fn: nn.Module = nn.BCEWithLogitsLoss() if loss == "bce" else AsymmetricLossMultiLabel()
        self.threshold_mode = threshold_mode
        self.top_k = top_k
        self.min_labels = min_labels
        self.dropout = nn.Dropout(dropout)
        self.vocabulary: list[str] = []
        self.head: nn.Linear | None = None
        self.thresholds: torch.Tensor
        self._val_probabilities: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []

    def head_features(self) -> int:
        return int(getattr(self.net, "num_features"))  # noqa: B009

    def build_head(self, vocabulary: list[str]) -> None:
        super().build_head(vocabulary)
        self.register_buffer("thresholds", torch.full((len(vocabulary),), 0.5, device=self.device))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.head is None:
            raise RuntimeError("call build_head(vocabulary) (or fit/predict with a data module) first")
        return self.head(self.dropout(self.net(self.prepare_images(images))))

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.loss_fn(self(batch["image"]), batch["target"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["id"]))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch["image"])
        self.log("val/loss", self.loss_fn(logits, batch["target"]), batch_size=len(batch["id"]), sync_dist=True)
        self._val_probabilities.append(logits.float().sigmoid())
        self._val_targets.append(batch["target"] > 0.5)

    def on_validation_epoch_end(self) -> None:
        if not self._val_probabilities:
            return
        probabilities = self._gathered(self._val_probabilities)
        targets = self._gathered(self._val_targets)
        self._val_probabilities.clear()
        self._val_targets.clear()
        if not self.trainer.sanity_checking:
            self.thresholds.copy_(self.tune_thresholds(probabilities, targets))
        selected = decide(probabilities, self.thresholds, self.top_k, self.min_labels)
        self.log("val/f1", per_image_f1(selected, targets), prog_bar=True)
        self.log("val/threshold", self.thresholds.mean())

    def _gathered(self, parts: list[torch.Tensor]) -> torch.Tensor:
        gathered = self.all_gather(torch.cat(parts))
        assert isinstance(gathered, torch.Tensor)
        return gathered.reshape(-1, len(self.vocabulary))

    def tune_thresholds(self, probabilities: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Thresholds maximising the per-image F1 (global) or each label's F1 (per_class) on a grid."""
        grid = THRESHOLD_GRID.to(probabilities.device)
        if self.threshold_mode == "global":
            scores = torch.stack(
                [per_image_f1(decide(probabilities, t, self.top_k, self.min_labels), targets) for t in grid]
            )
            return grid[int(scores.argmax())].expand(probabilities.shape[1]).clone()
        selected = probabilities.unsqueeze(0) >= grid.view(-1, 1, 1)  # grid x images x labels
        true_positives = (selected & targets).sum(1).float()
        f1 = 2 * true_positives / (selected.sum(1) + targets.sum(0)).clamp(min=1)
        return grid[f1.argmax(0)]

    def score_sidecar_info(self) -> dict[str, Any]:
        return {"labels": list(self.vocabulary), "thresholds": self.thresholds.detach().float().cpu().numpy()}

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        probabilities = mean_over_views(self.tta, self.prepare_images(batch["image"]), self).float().sigmoid()
        selected = decide(probabilities, self.thresholds, self.top_k, self.min_labels).cpu()
        order = probabilities.argsort(1, descending=True).cpu()
        raw = probabilities.cpu().numpy() if self.emit_raw_scores else None  # one copy per batch, not per image
        results = []
        for i in range(len(batch["id"])):
            result = {
                "id": batch["id"][i],
                "index": int(batch["index"][i]),
                "concepts": [self.vocabulary[j] for j in order[i].tolist() if selected[i, j]],
            }
            if raw is not None:
                result["raw_scores"] = raw[i]
            results.append(result)
        return results
