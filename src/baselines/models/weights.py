"""Building backbones with random init or pretrained weights, with errors that say what to do offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn


class MissingWeightsError(RuntimeError):
    """Pretrained weights were asked for but could not be loaded."""


def create_timm(name: str, pretrained: bool | str = False, **kwargs: Any) -> nn.Module:
    """Creates a timm model with random init (False), hub weights (True) or a local weights file (path).

    Raises:
        MissingWeightsError: If hub weights cannot be fetched or a local file is missing; the message
            says how to provide them.
    """
    if isinstance(pretrained, str) and pretrained.lower() not in ("true", "false"):
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise MissingWeightsError(
                f"weights file {path} for timm model {name!r} not found; download them on a machine with "
                f"internet (timm.create_model({name!r}, pretrained=True) caches them under ~/.cache/huggingface) "
                "and point `pretrained` to the .safetensors/.pth file, or set pretrained=false"
            )
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **kwargs)
    if pretrained is True or (isinstance(pretrained, str) and pretrained.lower() == "true"):
        try:
            return timm.create_model(name, pretrained=True, **kwargs)
        except Exception as exc:  # hub errors come in many types (OSError, HTTP, LocalEntryNotFound)
            raise MissingWeightsError(
                f"could not load pretrained weights for timm model {name!r} from the hub ({type(exc).__name__}: "
                f"{exc}). Without internet, copy the weights file to this machine and set "
                "`pretrained=/path/to/model.safetensors`, or train from scratch with pretrained=false"
            ) from exc
    return timm.create_model(name, pretrained=False, **kwargs)


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Loads a .safetensors, .pt/.pth or Lightning .ckpt file into a state dict."""
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"weights file {path} not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state)
