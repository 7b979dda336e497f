"""TensorBoard gets the resolved config as hyperparameters, overlay pictures per validation epoch and the
test scores; plots are written next to the scores."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from baselines.callbacks import OverlayImages
from baselines.pipeline import run
from conftest import TINY_DRAWNUI


def test_tensorboard_gets_hparams_overlays_and_test_scores(
    demo_cfg: Callable[..., DictConfig], drawnui_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = demo_cfg("drawnui", *TINY_DRAWNUI, "trainer.max_epochs=1", "logger=tensorboard",
                   "model.net.box_score_thresh=0.0", "callbacks.overlay_images.longest=100",
                   root=drawnui_root)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="baselines"):
        summary = run(cfg)
    [version] = (Path(cfg.paths.output_dir) / "tensorboard").iterdir()
    hparams = yaml.safe_load((version / "hparams.yaml").read_text())
    assert hparams["task"] == "drawnui" and hparams["model"]["net"]["backbone"] == "resnet10t"
    events = EventAccumulator(str(version), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    images = events.Tags()["images"]
    assert images and all(tag.startswith("val_overlays/") for tag in images) and len(images) <= 4
    for tag in images:  # ground truth and prediction side by side, each scaled to at most 100 pixels
        [picture] = events.Images(tag)
        [source] = (drawnui_root / "data").rglob(tag.removeprefix("val_overlays/"))
        scaled = round(Image.open(source).width * 100 / max(Image.open(source).size))
        assert picture.width == 2 * scaled + 8
    # the results page without the CSV logger: no curves, and the log says why
    assert not (Path(cfg.paths.output_dir) / "results.png").exists()
    assert "no results.png, this run has no CSV logger (add logger=csv for loss curves)" in caplog.text
    assert (Path(cfg.paths.output_dir) / "per_class.csv").is_file()
    [test_map] = events.Scalars("test/map_50")
    assert test_map.value == pytest.approx(summary["scores"]["map_50"])
    assert [Path(p).name for p in summary["plots"]] == ["pr_curves.png", "confusion_matrix.png"]
    assert all(Path(p).parent.name == "drawnui.txt.plots" and Path(p).stat().st_size > 0 for p in summary["plots"])


def test_overlays_that_cannot_be_drawn_are_reported_once_and_stop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        collate_fn = staticmethod(list)

        def dataset(self, split: str) -> None:
            raise OSError("disk gone")

    trainer = SimpleNamespace(
        sanity_checking=False, is_global_zero=True, current_epoch=0, loggers=[TensorBoardLogger(tmp_path)],
        datamodule=Broken(),
    )  # fmt: skip
    callback = OverlayImages("drawnui")
    with caplog.at_level(logging.WARNING, logger="baselines"):
        callback.on_validation_epoch_end(trainer, None)  # type: ignore[arg-type]
        callback.on_validation_epoch_end(trainer, None)  # type: ignore[arg-type]
    assert callback.disabled
    assert [r.message for r in caplog.records].count(
        "OverlayImages: cannot draw drawnui validation predictions, no more overlays (OSError: disk gone)"
    ) == 1


def test_overlays_need_a_tensorboard_logger() -> None:
    trainer = SimpleNamespace(sanity_checking=False, is_global_zero=True, current_epoch=0, loggers=[], datamodule=None)
    OverlayImages("drawnui").on_validation_epoch_end(trainer, None)  # type: ignore[arg-type]  # nothing to do, no error
