"""Corrupt or missing images: a clear error naming the file, or skip-and-report when asked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra.utils import instantiate

from baselines.config import compose_config
from baselines.data.images import ImageReadError, load_rgb
from conftest import TINY_DRAWNUI


@pytest.fixture
def damaged_root(drawnui_root: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """A copy of the tiny set where two images of the training split are damaged."""
    root = tmp_path / "copy"
    shutil.copytree(drawnui_root / "data", root / "data")
    first, second = (r.path for r in _datamodule(root).dataset("train").records[:2])
    first.write_bytes(first.read_bytes()[:300])  # truncated JPEG: the header still reads
    second.write_bytes(b"not an image at all")
    return root, sorted([first.name, second.name])


def _datamodule(root: Path, *overrides: str):  # type: ignore[no-untyped-def]
    cfg = compose_config(
        "train",
        [
            "experiment=drawnui",
            "+demo=drawnui",
            f"paths.root_dir={root}",
            f"paths.output_dir={root}/o",
            *TINY_DRAWNUI,
            *overrides,
        ],
    )
    return instantiate(cfg.data)


def test_unreadable_images_stop_before_training_naming_each_file(damaged_root: tuple[Path, list[str]]) -> None:
    root, names = damaged_root
    with pytest.raises(ImageReadError) as info:
        _datamodule(root).dataset("train")
    message = str(info.value)
    assert "2 unreadable image(s) in the train split" in message
    for name in names:
        assert f"{name}: cannot decode" in message
    assert "on_bad_image=skip" in message


def test_skip_reports_every_skipped_image(damaged_root: tuple[Path, list[str]]) -> None:
    root, names = damaged_root
    datamodule = _datamodule(root, "data.on_bad_image=skip")
    assert len(datamodule.dataset("train")) == 5 - 2  # 6 images, 1 held out for validation
    assert sorted(Path(s.split(": ")[0]).name for s in datamodule.skipped["train"]) == names


def test_load_rgb_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"nope.jpg: image file not found"):
        load_rgb(tmp_path / "nope.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    with pytest.raises(ImageReadError, match=r"bad.jpg: cannot decode image"):
        load_rgb(tmp_path / "bad.jpg")
