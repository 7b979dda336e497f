"""The detection module and the Faster R-CNN builder: shapes, label shifts, and learning one batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from baselines.config import compose_config
from baselines.data.base import collate_dicts
from baselines.models.detectors import faster_rcnn
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


def test_overfits_one_batch(drawnui_root: Path) -> None:
    torch.manual_seed(0)
    module, batch = _tiny_module_and_batch(drawnui_root)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3)
    module.train()
    losses = []
    for step in range(60):
        optimizer.zero_grad()
        loss = module.training_step(batch, step)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < 0.35 * losses[0], losses[::10]
    module.eval()
    with torch.no_grad():
        module.validation_step(batch, 0)
    assert float(module.val_map.compute()["map"]) > 0.5


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
