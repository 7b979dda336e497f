"""Detection networks: torchvision's Faster R-CNN on a timm backbone with an FPN."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch
import torchvision
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from baselines.models.weights import MissingWeightsError, create_timm, load_state_dict_file


class TimmFPN(nn.Module):
    """A timm feature extractor followed by an FPN; exposes `out_channels` as torchvision expects.

    Args:
        name: Any timm model that supports features_only.
        pretrained: False, True (hub) or a local weights file.
        out_indices: Which feature stages feed the FPN.
        fpn_channels: Channels of every pyramid level.
    """

    def __init__(self, name: str, pretrained: bool | str, out_indices: Sequence[int], fpn_channels: int) -> None:
        super().__init__()
        self.body = create_timm(name, pretrained, features_only=True, out_indices=tuple(out_indices))
        info: Any = self.body.feature_info
        self.fpn = FeaturePyramidNetwork(info.channels(), fpn_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = fpn_channels
        cfg: dict[str, Any] = dict(getattr(self.body, "pretrained_cfg", {}) or {})
        self.mean = list(cfg.get("mean", (0.485, 0.456, 0.406)))
        self.std = list(cfg.get("std", (0.229, 0.224, 0.225)))

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        features = self.body(x)
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(features)))


def faster_rcnn(
    num_classes: int,
    backbone: str = "resnet50",
    pretrained: bool | str = False,
    image_size: int = 800,
    out_indices: Sequence[int] = (1, 2, 3, 4),
    fpn_channels: int = 256,
    anchor_sizes: Sequence[int] = (32, 64, 128, 256, 512),
    aspect_ratios: Sequence[float] = (0.5, 1.0, 2.0),
    representation_size: int = 1024,
    rpn_batch_size_per_image: int = 256,
    box_batch_size_per_image: int = 512,
    box_score_thresh: float = 0.05,
    box_nms_thresh: float = 0.5,
    detections_per_image: int = 100,
) -> FasterRCNN:
    """Builds Faster R-CNN with a timm backbone + FPN for `num_classes` foreground classes.

    Labels inside the network are 1-based (0 is background); `DetectionModule` converts.
    Inputs are expected already letterboxed to image_size, so the internal resize is a no-op.
    """
    body = TimmFPN(backbone, pretrained, out_indices, fpn_channels)
    levels = len(out_indices) + 1  # + the max-pooled extra level
    if len(anchor_sizes) != levels:
        raise ValueError(f"anchor_sizes needs {levels} entries (one per pyramid level), got {len(anchor_sizes)}")
    anchors = AnchorGenerator(tuple((s,) for s in anchor_sizes), (tuple(aspect_ratios),) * levels)
    roi_pool = MultiScaleRoIAlign([str(i) for i in range(len(out_indices))], output_size=7, sampling_ratio=2)
    return FasterRCNN(
        body,
        num_classes=None,
        min_size=image_size,
        max_size=image_size,
        image_mean=body.mean,
        image_std=body.std,
        rpn_anchor_generator=anchors,
        rpn_batch_size_per_image=rpn_batch_size_per_image,
        box_roi_pool=roi_pool,
        box_head=TwoMLPHead(fpn_channels * 7 * 7, representation_size),
        box_predictor=FastRCNNPredictor(representation_size, num_classes + 1),
        box_batch_size_per_image=box_batch_size_per_image,
        box_score_thresh=box_score_thresh,
        box_nms_thresh=box_nms_thresh,
        box_detections_per_img=detections_per_image,
    )


def torchvision_faster_rcnn(
    num_classes: int,
    name: str = "fasterrcnn_resnet50_fpn_v2",
    weights: str | None = None,
    image_size: int = 800,
    anchor_sizes: Sequence[int] | None = None,
    aspect_ratios: Sequence[float] | None = None,
    box_score_thresh: float = 0.05,
    box_nms_thresh: float = 0.5,
    detections_per_image: int = 100,
) -> FasterRCNN:
    """A torchvision Faster R-CNN (`fasterrcnn_*`) with its box predictor sized for num_classes.

    Args:
        num_classes: Foreground classes.
        name: A torchvision model name, e.g. fasterrcnn_resnet50_fpn_v2 or fasterrcnn_mobilenet_v3_large_fpn.
        weights: None (random init), "DEFAULT" (COCO weights from download.pytorch.org) or a local
            file with the COCO state dict of that model; the COCO box predictor is then replaced.
        image_size: Inputs arrive letterboxed to this size; the internal resize is a no-op.
        anchor_sizes: One anchor size per feature map; None keeps the model's.
        aspect_ratios: Anchor aspect ratios (height / width); None keeps the model's. Changing
            either re-initialises only the RPN's output layers, keeping its pretrained convolutions.
        box_score_thresh, box_nms_thresh, detections_per_image: Post-processing.
    """
    if not name.startswith("fasterrcnn_"):
        raise ValueError(f"{name!r} is not a torchvision Faster R-CNN (fasterrcnn_*)")
    options = dict(
        min_size=image_size,
        max_size=image_size,
        box_score_thresh=box_score_thresh,
        box_nms_thresh=box_nms_thresh,
        box_detections_per_img=detections_per_image,
    )
    model: FasterRCNN
    if weights is None:
        model = torchvision.models.get_model(
            name, weights=None, weights_backbone=None, num_classes=num_classes + 1, **options
        )
        return _set_anchors(model, anchor_sizes, aspect_ratios)
    if weights.upper() == "DEFAULT":
        try:
            model = torchvision.models.get_model(name, weights="DEFAULT", **options)
        except Exception as exc:  # URLError, HTTPError, OSError depending on where the download fails
            raise MissingWeightsError(
                f"could not download the COCO weights of {name} ({type(exc).__name__}: {exc}). Offline, fetch "
                f"them elsewhere (torchvision.models.get_model({name!r}, weights='DEFAULT') stores them under "
                "~/.cache/torch/hub/checkpoints/), copy the .pth here and set weights=/path/to/file.pth"
            ) from exc
    else:
        model = torchvision.models.get_model(name, weights=None, weights_backbone=None, **options)
        model.load_state_dict(load_state_dict_file(weights))
    in_features = model.roi_heads.box_predictor.cls_score.in_features
    model.roi_heads.box_predictor = FastRCNNPredictor(in_features, num_classes + 1)
    return _set_anchors(model, anchor_sizes, aspect_ratios)


def _set_anchors(
    model: FasterRCNN, anchor_sizes: Sequence[int] | None, aspect_ratios: Sequence[float] | None
) -> FasterRCNN:
    if anchor_sizes is None and aspect_ratios is None:
        return model
    current = model.rpn.anchor_generator
    sizes = tuple((s,) for s in anchor_sizes) if anchor_sizes is not None else current.sizes
    if len(sizes) != len(current.sizes):
        raise ValueError(f"anchor_sizes needs {len(current.sizes)} entries (one per feature map), got {len(sizes)}")
    ratios = tuple(aspect_ratios) if aspect_ratios is not None else current.aspect_ratios[0]
    model.rpn.anchor_generator = AnchorGenerator(sizes, (ratios,) * len(sizes))
    head = model.rpn.head
    # a level may carry several sizes (mobilenet's 320 model): anchors per location = sizes x ratios
    channels, n_anchors = head.cls_logits.in_channels, model.rpn.anchor_generator.num_anchors_per_location()[0]
    head.cls_logits = nn.Conv2d(channels, n_anchors, kernel_size=1)
    head.bbox_pred = nn.Conv2d(channels, n_anchors * 4, kernel_size=1)
    for layer in (head.cls_logits, head.bbox_pred):
        nn.init.normal_(layer.weight, std=0.01)
        nn.init.constant_(layer.bias, 0)
    return model
