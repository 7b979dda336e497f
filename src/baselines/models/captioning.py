"""The image-to-text LightningModule: medical captions, and questions about an image (VQG).

Contract: samples carry `image` (uint8 CHW, or float CHW in [0, 1]) and, for training and validation, `text`
(the target string). `predict_step` returns per-sample dicts with `id`, `index` and `texts`, a list
of `num_return_sequences` generated strings (best first), which run-file formats read.
"""

from __future__ import annotations

from typing import Any

import sacrebleu
import torch
from torch import nn

from baselines.models.base import BaseModule, Optim
from baselines.text.tokenizers import load_tokenizer


class CaptioningModule(BaseModule):
    """Trains an encoder-decoder (transformers VisionEncoderDecoderModel API) with teacher forcing and
    generates with beam search.

    Args:
        net: A model called as `net(pixel_values=..., labels=...)` with a `generate(pixel_values=...)`.
        tokenizer: Hub name or local folder of the tokenizer the decoder was built for.
        optim: Optimizer, scheduler and how the network runs (see BaseModule).
        max_length: Longest target (tokens) in training and longest generation.
        num_beams: Beam width at prediction (1 is greedy).
        num_return_sequences: Texts returned per image (VQG asks for several questions).
        length_penalty: Beam-search length penalty.
        no_repeat_ngram_size: Forbid repeating n-grams in generations (0 disables).
        image_mean, image_std: Input normalisation of the encoder.
    """

    def __init__(
        self,
        net: nn.Module,
        tokenizer: str,
        optim: Optim,
        max_length: int = 64,
        num_beams: int = 4,
        num_return_sequences: int = 1,
        length_penalty: float = 1.0,
        no_repeat_ngram_size: int = 0,
        image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
        image_std: tuple[float, float, float] = (0.5, 0.5, 0.5),
    ) -> None:
        super().__init__(optim)
        if num_return_sequences > max(num_beams, 1):
            raise ValueError(f"num_return_sequences ({num_return_sequences}) cannot exceed num_beams ({num_beams})")
        self.net = net
        self.tokenizer = load_tokenizer(tokenizer)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.max_length = max_length
        self.num_beams = num_beams
        self.num_return_sequences = num_return_sequences
        self.length_penalty = length_penalty
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.register_buffer("image_mean", torch.tensor(image_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("image_std", torch.tensor(image_std).view(1, 3, 1, 1), persistent=False)
        self._val_pairs: list[tuple[str, str]] = []

    def pixels(self, images: torch.Tensor) -> torch.Tensor:
        mean: torch.Tensor = self.image_mean  # type: ignore[assignment]
        std: torch.Tensor = self.image_std  # type: ignore[assignment]
        return (self.prepare_images(images) - mean) / std  # elementwise: keeps channels_last

    def labels(self, texts: list[str]) -> torch.Tensor:
        """Target token ids: the text then EOS (the decoder start token is prepended by the model), pads -100.

        Built without the tokenizer's own special tokens, so GPT-2 (no BOS/EOS added) and
        BOS...EOS tokenizers give the same layout.
        """
        eos = self.tokenizer.eos_token_id
        rows = [
            [*self.tokenizer(text, add_special_tokens=False)["input_ids"][: self.max_length - 1], eos] for text in texts
        ]
        width = max(len(r) for r in rows)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for i, row in enumerate(rows):
            labels[i, : len(row)] = torch.tensor(row)
        return labels.to(self.device)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.net(pixel_values=self.pixels(batch["image"]), labels=self.labels(batch["text"])).loss
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["id"]))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        pixels = self.pixels(batch["image"])
        loss = self.net(pixel_values=pixels, labels=self.labels(batch["text"])).loss
        self.log("val/loss", loss, batch_size=len(batch["id"]), sync_dist=True)
        generated = self.generate(pixels, num_beams=1, num_return_sequences=1)
        self._val_pairs += list(zip(generated, batch["text"], strict=True))

    def on_validation_epoch_end(self) -> None:
        if self._val_pairs:
            hypotheses, references = zip(*self._val_pairs, strict=True)
            bleu = sacrebleu.corpus_bleu(list(hypotheses), [list(references)], lowercase=True).score / 100
            self.log("val/bleu", bleu, prog_bar=True)
        self._val_pairs.clear()

    @torch.no_grad()
    def generate(self, pixels: torch.Tensor, num_beams: int, num_return_sequences: int) -> list[str]:
        output = self.net.generate(  # type: ignore[operator]
            pixel_values=pixels,
            num_beams=num_beams,
            num_return_sequences=num_return_sequences,
            max_new_tokens=self.max_length,
            length_penalty=self.length_penalty,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
            early_stopping=num_beams > 1,
        )
        return [" ".join(t.split()) for t in self.tokenizer.batch_decode(output, skip_special_tokens=True)]

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        texts = self.generate(self.pixels(batch["image"]), self.num_beams, self.num_return_sequences)
        n = self.num_return_sequences
        return [
            {"id": batch["id"][i], "index": int(batch["index"][i]), "texts": texts[i * n : (i + 1) * n]}
            for i in range(len(batch["id"]))
        ]
