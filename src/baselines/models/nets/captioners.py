"""Image-to-text networks: transformers' VisionEncoderDecoderModel (ViT-style encoder, GPT-2-style decoder)."""

from __future__ import annotations

from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedModel,
    VisionEncoderDecoderModel,
    ViTConfig,
    ViTModel,
)

from baselines.models.weights import pretrained_transformer
from baselines.text.tokenizers import load_tokenizer


def vision_encoder_decoder(
    tokenizer: str,
    encoder: str | None = None,
    decoder: str | None = None,
    image_size: int = 224,
    patch_size: int = 16,
    hidden_size: int = 384,
    encoder_layers: int = 6,
    decoder_layers: int = 6,
    attention_heads: int = 6,
    max_positions: int = 128,
) -> VisionEncoderDecoderModel:
    """Builds an image captioner whose decoder vocabulary matches the tokenizer.

    Args:
        tokenizer: Hub name or local folder of the tokenizer the decoder writes with.
        encoder: Hub name or folder of a pretrained ViT-style encoder; None builds a random ViT from
            image_size, patch_size, hidden_size, encoder_layers, attention_heads.
        decoder: Hub name or folder of a pretrained causal LM (e.g. gpt2; cross-attention is added);
            None builds a random GPT-2 from hidden_size, decoder_layers, attention_heads, max_positions.
        image_size, patch_size, hidden_size, encoder_layers, decoder_layers, attention_heads, max_positions:
            Sizes of the random-init parts.
    """
    tok = load_tokenizer(tokenizer)
    if tok.pad_token_id is None:  # GPT-2's tokenizer has no pad token
        tok.pad_token = tok.eos_token
    if encoder is None:
        vit = ViTConfig(
            image_size=image_size,
            patch_size=patch_size,
            hidden_size=hidden_size,
            num_hidden_layers=encoder_layers,
            num_attention_heads=attention_heads,
            intermediate_size=4 * hidden_size,
        )
        encoder_model: PreTrainedModel = ViTModel(vit, add_pooling_layer=False)
    else:
        encoder_model = pretrained_transformer(ViTModel, encoder, {"add_pooling_layer": False})
    if decoder is None:
        gpt = GPT2Config(
            vocab_size=len(tok),
            n_positions=max_positions,
            n_embd=hidden_size,
            n_layer=decoder_layers,
            n_head=attention_heads,
            add_cross_attention=True,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
        decoder_model: PreTrainedModel = GPT2LMHeadModel(gpt)
    else:
        decoder_model = pretrained_transformer(GPT2LMHeadModel, decoder, {"add_cross_attention": True})
        decoder_model.resize_token_embeddings(len(tok))
    model = VisionEncoderDecoderModel(encoder=encoder_model, decoder=decoder_model)
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    for config in (model.config, model.generation_config):
        config.decoder_start_token_id = start
        config.pad_token_id = tok.pad_token_id
        config.eos_token_id = tok.eos_token_id
    return model
