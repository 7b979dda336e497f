"""Random-init networks small enough for CPU tests, shared by the kits of tasks with one model family."""

from __future__ import annotations

DETECTOR: tuple[str, ...] = (
    "model.net.backbone=resnet10t",
    "model.net.pretrained=false",
    "model.net.fpn_channels=16",
    "model.net.representation_size=32",
    "data.image_size=128",
    "data.loader.batch_size=2",
)
"""Faster R-CNN on ResNet-10t with a thin FPN at 128 px (drawnUI, coral boxes)."""

CAPTIONER: tuple[str, ...] = (
    "model.net.encoder=null",
    "model.net.decoder=null",
    "model.net.hidden_size=32",
    "model.net.encoder_layers=1",
    "model.net.decoder_layers=1",
    "model.net.attention_heads=2",
    "model.net.max_positions=32",
    "model.max_length=8",
    "data.image_size=32",
    "data.loader.batch_size=4",
)
"""A 1-layer ViT encoder and decoder of width 32 (captions, VQG)."""

VQA_NET: tuple[str, ...] = (
    "model.image_net.name=resnet10t",
    "model.image_net.pretrained=false",
    "model.text_net.name=null",
    "model.text_net.hidden_size=32",
    "model.text_net.layers=1",
    "model.text_net.attention_heads=2",
    "model.fusion_dim=32",
    "data.image_size=32",
    "data.loader.batch_size=4",
)
"""A VQA network small enough for a CPU test (ResNet-10t, a 1-layer text encoder at 32 px), random init."""
