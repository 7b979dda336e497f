"""3D classifiers of CT volumes (tuberculosis CT report) from MONAI, random init."""

from __future__ import annotations

import monai.networks.nets as monai_nets
from torch import nn

from baselines.io.formats.tuberculosis import FINDINGS


def monai_classifier(name: str = "resnet18", num_outputs: int = len(FINDINGS), in_channels: int = 1) -> nn.Module:
    """A MONAI 3D classifier (resnet10/18/34/50 or DenseNet121/169), random init."""
    if name.startswith("resnet"):
        return getattr(monai_nets, name)(spatial_dims=3, n_input_channels=in_channels, num_classes=num_outputs)
    if name.lower().startswith("densenet"):
        cls = {"densenet121": monai_nets.DenseNet121, "densenet169": monai_nets.DenseNet169}[name.lower()]
        return cls(spatial_dims=3, in_channels=in_channels, out_channels=num_outputs)
    raise ValueError(f"unknown MONAI classifier {name!r}: resnet10/18/34/50, densenet121/169")
