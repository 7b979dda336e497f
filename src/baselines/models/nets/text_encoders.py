"""Question encoders (VQA): a BERT-style transformer from the hub, a local folder or random init."""

from __future__ import annotations

from transformers import BertConfig, BertModel, PreTrainedModel

from baselines.models.weights import pretrained_transformer
from baselines.text.tokenizers import load_tokenizer


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
        return pretrained_transformer(BertModel, name, {"add_pooling_layer": False})
    config = BertConfig(
        vocab_size=len(load_tokenizer(tokenizer)),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=attention_heads,
        intermediate_size=4 * hidden_size,
        max_position_embeddings=max_positions,
    )
    return BertModel(config, add_pooling_layer=False)
