"""Segmentation networks from segmentation-models-pytorch with timm encoders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import segmentation_models_pytorch as smp
from torch import nn

from baselines.models.weights import (
    MissingWeightsError,
    cached_timm_file,
    hub_reachable,
    load_state_dict_file,
    offline_advice,
)


def smp_model(
    num_classes: int,
    architecture: str = "Unet",
    encoder: str = "tu-resnet50",
    encoder_weights: str | None = None,
    encoder_depth: int = 5,
    decoder_channels: Sequence[int] = (256, 128, 64, 32, 16),
) -> nn.Module:
    """A segmentation-models-pytorch network predicting num_classes foreground classes + background.

    Args:
        num_classes: Foreground classes; the output has num_classes + 1 channels (0 = background).
        architecture: Unet, UnetPlusPlus, FPN, DeepLabV3Plus, ... (smp.create_model names).
        encoder: An smp encoder; "tu-<name>" takes any timm model.
        encoder_weights: None (random init), "imagenet" (download; offline, a "tu-" encoder's weights are
            read from the local hub cache when there) or a local encoder state-dict file.
        encoder_depth: Encoder stages used; decoder_channels needs one entry per stage.
        decoder_channels: Decoder widths (Unet family).
    """
    hub_weights = encoder_weights if encoder_weights is not None and not Path(encoder_weights).suffix else None
    timm_options: dict[str, Any] = {}
    if hub_weights is not None and not hub_reachable():
        # a timm encoder's weights already in the local cache are read from there, as create_timm does
        cached = cached_timm_file(encoder.removeprefix("tu-")) if encoder.startswith("tu-") else None
        if cached is None:
            raise MissingWeightsError(
                offline_advice(
                    f"{hub_weights!r} weights of encoder {encoder!r}",
                    "save the encoder's state dict on a machine with internet and set "
                    "encoder_weights=/path/to/encoder.pth, or use encoder_weights=null",
                )
            )
        timm_options["pretrained_cfg_overlay"] = {"file": str(cached)}
    try:
        model = smp.create_model(
            architecture,
            encoder_name=encoder,
            encoder_weights=hub_weights,
            encoder_depth=encoder_depth,
            decoder_channels=tuple(decoder_channels),
            classes=num_classes + 1,
            **timm_options,
        )
    except (OSError, RuntimeError, ValueError) as exc:
        if hub_weights is None:
            raise
        raise MissingWeightsError(
            f"could not download {hub_weights!r} weights for encoder {encoder!r} ({type(exc).__name__}: {exc}). "
            "Offline, save the encoder's state dict elsewhere and set encoder_weights=/path/to/encoder.pth, "
            "or use encoder_weights=null"
        ) from exc
    if encoder_weights is not None and hub_weights is None:
        model.encoder.load_state_dict(load_state_dict_file(encoder_weights))
    return model
