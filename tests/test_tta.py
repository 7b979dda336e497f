"""Test-time augmentation: the views, and per problem type that a flip on a symmetric input changes
nothing while the views are really predicted and mapped back (a non-symmetric input)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from torch import nn
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from baselines.config import compose_config
from baselines.models.base import Optim
from baselines.models.detection import DetectionModule, _internal_scale
from baselines.models.multilabel import MultiLabelModule
from baselines.models.nets.detectors import faster_rcnn
from baselines.models.nets.text_encoders import bert_encoder
from baselines.models.nets.volume_classifiers import monai_classifier
from baselines.models.segmentation import SegmentationModule
from baselines.models.tta import TTA, View, apply_view, average_maps
from baselines.models.volume import VolumeClassificationModule
from baselines.models.vqa import VQAModule
from baselines.models.weights import create_timm
from baselines.text.tokenizers import train_word_tokenizer

OPTIM = Optim(partial(torch.optim.SGD, lr=0.1))
FLIP = TTA(hflip=True)


def _symmetric(*shape: int, seed: int = 0) -> torch.Tensor:
    """A uint8 batch equal to its own left-right mirror."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)
    half = shape[-1] // 2
    image[..., shape[-1] - half :] = image[..., :half].flip(-1)
    assert torch.equal(image, image.flip(-1))
    return image


def _batch(images: torch.Tensor, **extra: Any) -> dict[str, Any]:
    n = len(images)
    return {"image": images, "id": [f"i{k}" for k in range(n)], "index": torch.arange(n), **extra}


def test_views_and_config() -> None:
    assert TTA().views() == [View()] and not TTA().enabled
    assert TTA(hflip=True, scales=[0.5, 1.0]).views() == [View(1, False), View(1, True), View(0.5), View(0.5, True)]
    with pytest.raises(ValueError, match="positive"):
        TTA(scales=[0.0])
    cfg = compose_config("train", ["experiment=concepts", "model.tta.hflip=true", "model.tta.scales=[0.75,1.25]"])
    assert instantiate(cfg.model.tta) == TTA(hflip=True, scales=(0.75, 1.25))
    assert instantiate(compose_config("train", ["experiment=tbct"]).model.tta) == TTA()  # off by default
    image = torch.arange(24.0).view(1, 1, 4, 6)
    assert apply_view(image, View(0.5, True), multiple=2).shape == (1, 1, 2, 4)  # sizes rounded to the multiple
    assert torch.equal(apply_view(image, View(1.0, True)), image.flip(-1))


def _predict(module: Any, batch: dict[str, Any], tta: TTA | None) -> list[dict[str, Any]]:
    module.tta = tta
    with torch.no_grad():
        return module.predict_step(batch, 0)


def test_concepts_flip_on_a_symmetric_image_equals_no_tta() -> None:
    torch.manual_seed(0)
    module = MultiLabelModule(create_timm("resnet10t", False, num_classes=0), OPTIM).eval()
    module.build_head(["C0000001", "C0000002", "C0000003"])
    module.emit_raw_scores = True
    symmetric = _batch(_symmetric(2, 3, 32, 32))
    a, b = _predict(module, symmetric, None), _predict(module, symmetric, FLIP)
    np.testing.assert_allclose(np.stack([p["raw_scores"] for p in a]), np.stack([p["raw_scores"] for p in b]))
    assert [p["concepts"] for p in a] == [p["concepts"] for p in b]
    other = _batch(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8))
    c, d = _predict(module, other, None), _predict(module, other, FLIP)
    assert not np.allclose(c[0]["raw_scores"], d[0]["raw_scores"])  # the mirrored view was predicted
    assert _predict(module, other, TTA(hflip=True, scales=[0.75]))[0]["raw_scores"].shape == (3,)


def test_vqa_flip_on_a_symmetric_image_equals_no_tta(tmp_path: Path) -> None:
    questions = ["is there a mass", "what organ is shown"]
    train_word_tokenizer([*questions, "yes no"], tmp_path / "tok")

    torch.manual_seed(0)
    text = bert_encoder(str(tmp_path / "tok"), hidden_size=32, layers=1, attention_heads=2, max_positions=16)
    image = create_timm("resnet10t", False, num_classes=0)
    module = VQAModule(image, text, str(tmp_path / "tok"), OPTIM, fusion_dim=16).eval()
    batch = _batch(_symmetric(2, 3, 32, 32), question=questions)
    with pytest.raises(RuntimeError, match=r"call build_head\(answers\) \(or fit/predict with a data module\) first"):
        _predict(module, batch, FLIP)
    module.build_head(["yes", "no", "lung", "liver"])
    module.emit_raw_scores = True
    a, b = _predict(module, batch, None), _predict(module, batch, FLIP)
    np.testing.assert_allclose(np.stack([p["raw_scores"] for p in a]), np.stack([p["raw_scores"] for p in b]))
    assert [p["answer"] for p in a] == [p["answer"] for p in b]
    for prediction in a:  # routed after the mean: every answer's distribution lies within one question type's answers
        support = {v for v, score in zip(module.vocabulary, prediction["raw_scores"], strict=True) if score > 0}
        assert support in ({"yes", "no"}, {"lung", "liver"}) and prediction["answer"] in support


def test_tb_flip_on_a_symmetric_volume_equals_no_tta() -> None:
    torch.manual_seed(0)
    module = VolumeClassificationModule(monai_classifier("resnet10"), OPTIM).eval()
    volume = _symmetric(1, 2, 1, 8, 16, 16).float() / 255
    batch = {"volume": volume, "id": ["CTR_TST_001.nii.gz"], "index": torch.arange(1)}
    a, b = _predict(module, batch, None), _predict(module, batch, FLIP)
    c = _predict(module, batch, TTA(hflip=True, scales=[0.5]))
    np.testing.assert_allclose(a[0]["probabilities"], b[0]["probabilities"], rtol=1e-6)
    assert len(c[0]["probabilities"]) == 6


class MirrorSymmetricConv(nn.Module):
    """A 3x3 convolution whose kernels equal their mirror: flip-equivariant, f(flip(x)) = flip(f(x))."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, classes, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.copy_((self.conv.weight + self.conv.weight.flip(-1)) / 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * 20  # sharp maps: a few confident components


def _segmenter(tta: TTA | None) -> SegmentationModule:
    torch.manual_seed(0)
    return SegmentationModule(MirrorSymmetricConv(3), 2, OPTIM, min_area=1, tta=tta).eval()


def test_segmentation_flip_on_a_symmetric_image_equals_no_tta() -> None:
    extra = {"orig_size": torch.tensor([[32, 32]]), "scale": torch.tensor([1.0])}
    blocks = _symmetric(1, 3, 4, 4).repeat_interleave(8, -1).repeat_interleave(8, -2)  # components, not speckle
    batch = _batch(blocks, **extra)
    with torch.no_grad():
        a, b = _segmenter(None).predict_step(batch, 0)[0], _segmenter(FLIP).predict_step(batch, 0)[0]
    assert len(a["polygons"]) > 0 and a["polygons"] == b["polygons"]
    assert torch.equal(a["labels"], b["labels"]) and torch.allclose(a["scores"], b["scores"])


def test_segmentation_views_are_mapped_back_before_averaging() -> None:
    module = _segmenter(None)
    image = torch.rand(1, 3, 32, 32)  # not symmetric: a map that is not mirrored back would differ
    with torch.no_grad():
        plain = average_maps(None, image, lambda x: module.net(x).softmax(1))
        flipped = average_maps(FLIP, image, lambda x: module.net(x).softmax(1))
        scaled = average_maps(TTA(scales=[2.0]), image, lambda x: module.net(x).softmax(1), multiple=32)
    torch.testing.assert_close(plain, flipped, atol=1e-5, rtol=1e-5)
    assert scaled.shape == plain.shape
    torch.testing.assert_close(scaled.sum(1), torch.ones(1, 32, 32))  # still a distribution per pixel


class BrightBoxDetector(nn.Module):
    """A torchvision-style detector: the box around the pixels brighter than 0.5 (flip- and scale-equivariant)."""

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        outputs = []
        for image in images:
            ys, xs = torch.nonzero(image.mean(0) > 0.5, as_tuple=True)
            box = torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
            outputs.append({"boxes": box[None], "scores": torch.tensor([0.9]), "labels": torch.tensor([1])})
        return outputs


def _detect(tta: TTA | None, images: torch.Tensor) -> dict[str, Any]:
    module = DetectionModule(BrightBoxDetector(), OPTIM, tta=tta).eval()
    extra = {"orig_size": torch.tensor([[64, 64]]), "scale": torch.tensor([1.0])}
    with torch.no_grad():
        return module.predict_step(_batch(images, **extra), 0)[0]


def test_detection_flip_on_a_symmetric_image_equals_no_tta() -> None:
    image = torch.zeros(1, 3, 64, 64, dtype=torch.uint8)
    image[..., 10:30, 20:44] = 255  # centred: symmetric
    a, b = _detect(None, image), _detect(FLIP, image)
    torch.testing.assert_close(a["boxes"], b["boxes"])
    torch.testing.assert_close(a["scores"], b["scores"])
    assert a["labels"].tolist() == b["labels"].tolist() == [0]


def test_detection_views_are_mapped_back_and_fused() -> None:
    image = torch.zeros(1, 3, 64, 64, dtype=torch.uint8)
    image[..., 10:30, 4:20] = 255  # off-centre: the mirrored view sees it at x 44..60
    plain = _detect(None, image)
    assert plain["boxes"].tolist() == [[4, 10, 20, 30]]
    for tta in (FLIP, TTA(hflip=True, scales=[2.0, 0.5])):
        fused = _detect(tta, image)
        torch.testing.assert_close(fused["boxes"], plain["boxes"], atol=1.0, rtol=0)
        torch.testing.assert_close(fused["scores"], plain["scores"])  # every view agrees: the same confidence


def test_torchvision_detector_scales_inside_and_restores() -> None:
    transform = GeneralizedRCNNTransform(64, 64, [0.5] * 3, [0.5] * 3)
    image = torch.rand(3, 64, 64)
    net = nn.Module()
    net.transform = transform
    with _internal_scale(net, 1.5) as inside:
        assert inside and transform([image])[0].image_sizes == [(96, 96)]
    assert transform.min_size == (64,) and transform.max_size == 64
    with _internal_scale(nn.Identity(), 2.0) as inside:
        assert not inside
    torch.manual_seed(0)
    net = faster_rcnn(3, "resnet10t", image_size=64, fpn_channels=16, representation_size=32, box_score_thresh=0.0)
    net.roi_heads.detections_per_img = 5  # few boxes per view: a quick fusion
    module = DetectionModule(net, OPTIM, tta=TTA(hflip=True, scales=[0.5])).eval()
    extra = {"orig_size": torch.tensor([[64, 64]]), "scale": torch.tensor([1.0])}
    with torch.no_grad():
        (out,) = module.predict_step(_batch(torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8), **extra), 0)
    boxes = out["boxes"]
    assert len(boxes) > 0 and bool((boxes >= 0).all() and (boxes <= 64).all())
    assert bool(((out["scores"] >= 0) & (out["scores"] <= 1)).all())
