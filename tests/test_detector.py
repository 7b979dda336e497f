"""The detection module and the Faster R-CNN builder: shapes, label shifts, and learning one batch."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from PIL import Image

from baselines.config import compose_config
from baselines.data.base import collate_dicts
from baselines.data.detection import DetectionDataset, DetectionRecord
from baselines.data.segmentation import SegmentationDataset
from baselines.data.transforms import detection_pipeline
from baselines.models.nets.detectors import faster_rcnn
from baselines.models.weights import MissingWeightsError
from conftest import TINY_DRAWNUI


def _tiny_module_and_batch(root: Path):  # type: ignore[no-untyped-def]
    cfg = compose_config(
        "train",
        ["experiment=drawnui", "+demo=drawnui", f"paths.root_dir={root}", f"paths.output_dir={root}/o", *TINY_DRAWNUI],
    )
    datamodule = instantiate(cfg.data)
    dataset = datamodule.dataset("train")
    batch = collate_dicts([dataset[0], dataset[1]])
    return instantiate(cfg.model), batch


def test_predict_step_maps_boxes_back_to_original_pixels(drawnui_root: Path) -> None:
    module, batch = _tiny_module_and_batch(drawnui_root)
    module.net.roi_heads.score_thresh = 0.0
    module.eval()
    with torch.no_grad():
        outputs = module.predict_step(batch, 0)
    assert [o["id"] for o in outputs] == batch["id"]
    assert [o["index"] for o in outputs] == batch["index"].tolist()
    for out, (height, width) in zip(outputs, batch["orig_size"].tolist(), strict=True):
        assert len(out["boxes"]) > 0
        assert out["boxes"][:, 2].max() <= width and out["boxes"][:, 3].max() <= height
        assert out["labels"].min() >= 0 and out["labels"].max() < 21  # background shifted away
        # the network saw a 192-pixel letterbox of a 360x480 page: boxes must extend past 192
    assert max(float(o["boxes"][:, 3].max()) for o in outputs) > 192


def test_anchor_sizes_must_match_pyramid_levels() -> None:
    with pytest.raises(ValueError, match="anchor_sizes needs 5 entries"):
        faster_rcnn(3, backbone="resnet10t", anchor_sizes=(32, 64))


def test_missing_local_weights_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError, match=r"not found.*pretrained=false"):
        faster_rcnn(3, backbone="resnet10t", pretrained=str(tmp_path / "nope.safetensors"))


def test_torchvision_faster_rcnn_random_init_with_flat_anchors_trains(drawnui_root: Path) -> None:
    from baselines.models.base import Optim
    from baselines.models.detection import DetectionModule
    from baselines.models.nets.detectors import torchvision_faster_rcnn

    net = torchvision_faster_rcnn(
        21, "fasterrcnn_mobilenet_v3_large_320_fpn", weights=None, image_size=192, aspect_ratios=(0.1, 0.5, 1.0, 2.0)
    )
    assert net.rpn.head.cls_logits.out_channels == 5 * 4  # 5 sizes per level in this model, 4 ratios
    assert net.roi_heads.box_predictor.cls_score.out_features == 22
    _, batch = _tiny_module_and_batch(drawnui_root)
    module = DetectionModule(net, Optim(lambda params: torch.optim.SGD(params, lr=0.01)))
    module.train()
    loss = module.training_step(batch, 0)
    loss.backward()
    assert torch.isfinite(loss)


def test_torchvision_coco_weights_offline_error_or_local_file(tmp_path: Path) -> None:
    from baselines.models.nets.detectors import torchvision_faster_rcnn

    with pytest.raises(MissingWeightsError, match=r"weights file .* not found"):
        torchvision_faster_rcnn(3, "fasterrcnn_mobilenet_v3_large_320_fpn", weights=str(tmp_path / "coco.pth"))
    # a local COCO state dict (here: one of a fresh 91-class model) loads, then the predictor is resized
    import torchvision

    coco = torchvision.models.get_model("fasterrcnn_mobilenet_v3_large_320_fpn", weights=None, weights_backbone=None)
    torch.save(coco.state_dict(), tmp_path / "coco.pth")
    net = torchvision_faster_rcnn(3, "fasterrcnn_mobilenet_v3_large_320_fpn", weights=str(tmp_path / "coco.pth"))
    assert net.roi_heads.box_predictor.cls_score.out_features == 4
    assert torch.equal(net.backbone.body["0"][0].weight, coco.backbone.body["0"][0].weight)


@pytest.mark.parametrize("resize_first", [True, False])
def test_letterbox_pipeline_keeps_size_origin_and_boxes(resize_first: bool) -> None:
    image = np.zeros((300, 600, 3), np.uint8)
    image[100:150, 200:300] = 255  # a white box at x 200-300, y 100-150
    augment = [A.RandomScale(scale_limit=(0.2, 0.2), p=1.0)]  # changes the size: the output must not
    pipeline = detection_pipeline(120, augment, resize_first=resize_first)
    out = pipeline(image=image, bboxes=[(200, 100, 300, 150)], labels=[0])
    assert out["image"].shape == (120, 120, 3)
    assert out["image"][60:, :].max() == 0  # 600x300 -> 120x60: padding below, nothing moved
    x0, y0, x1, y1 = out["bboxes"][0]
    np.testing.assert_allclose([x0, y0, x1, y1], [40, 20, 60, 30], atol=1.0)
    assert out["image"][int(y0) + 2 : int(y1) - 2, int(x0) + 2 : int(x1) - 2].min() > 200


def test_reduced_jpeg_decode_gives_the_same_letterboxed_sample(tmp_path: Path) -> None:
    image = np.full((1200, 1600, 3), 40, np.uint8)
    image[300:700, 400:1000] = 220
    path = tmp_path / "photo.jpg"
    Image.fromarray(image).save(path, quality=95)
    square = np.array([[400, 300], [1000, 300], [1000, 700], [400, 700]], np.float32)
    record = DetectionRecord("photo.jpg", path, np.array([[400, 300, 1000, 700]], np.float32), np.array([2]), (square,))
    for dataset_type in (DetectionDataset, SegmentationDataset):
        full, reduced = (
            dataset_type([record], detection_pipeline(400, with_boxes=dataset_type is DetectionDataset), 400, r)[0]
            for r in (False, True)
        )
        assert reduced["scale"] == full["scale"] == 0.25
        assert torch.equal(reduced["orig_size"], full["orig_size"])
        assert (reduced["image"].float() - full["image"].float()).abs().mean() < 2.0
        if dataset_type is DetectionDataset:
            torch.testing.assert_close(reduced["boxes"], full["boxes"], atol=0.5, rtol=0)
            torch.testing.assert_close(full["boxes"], torch.tensor([[100.0, 75.0, 250.0, 175.0]]))
        else:
            assert (reduced["mask"] != full["mask"]).float().mean() < 0.01
            assert int(full["mask"][125, 175]) == 3
