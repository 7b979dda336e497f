"""Image files that are not what their name says: bombs, folders, broken links, each refused with its reason."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from baselines.io import images
from baselines.io.images import ImageReadError, check_images, image_size, load_rgb, unreadable_reason


def _bomb(path: Path, width: int, height: int) -> Path:
    """A valid PNG header of width x height whose pixel data is tiny (as a decompression bomb's)."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


@pytest.mark.parametrize("size", [(30000, 30000), (15000, 12000)])  # above Pillow's own limit, and below it
def test_a_decompression_bomb_is_refused_from_its_header(tmp_path: Path, size: tuple[int, int]) -> None:
    bomb = _bomb(tmp_path / "bomb.png", *size)
    assert "decompression bomb" in (unreadable_reason(bomb) or "")
    with pytest.raises(ImageReadError, match=r"bomb.png: .*decompression bomb"):
        load_rgb(bomb)


def test_under_skip_a_bomb_is_left_out_and_reported(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(good)
    bomb = _bomb(tmp_path / "bomb.png", 30000, 30000)
    keep, skipped = check_images([good, bomb], "skip", "predict")
    assert keep == [0]
    assert len(skipped) == 1 and skipped[0].startswith(f"{bomb}: ") and "decompression bomb" in skipped[0]


def test_the_cap_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "big.png"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(image)
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 500)
    assert "30x20 = 600 pixels, more than the cap of 500 (max_image_pixels)" in (unreadable_reason(image) or "")


def test_a_folder_named_like_an_image_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "page.jpg"
    folder.mkdir()
    assert unreadable_reason(folder) == "a folder, not an image file"
    with pytest.raises(ImageReadError, match=r"page.jpg: a folder, not an image file"):
        load_rgb(folder)


@pytest.mark.parametrize("loop", [True, False])
def test_a_broken_or_looping_link_says_so(tmp_path: Path, loop: bool) -> None:
    link = tmp_path / "page.jpg"
    if loop:
        other = tmp_path / "other.jpg"
        link.symlink_to(other)
        other.symlink_to(link)
    else:
        link.symlink_to(tmp_path / "gone.jpg")
    assert unreadable_reason(link) == "a symbolic link whose target is missing (or a loop of links)"


def test_the_cap_comes_from_the_config(demo_cfg, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from hydra.utils import instantiate

    from baselines.pipeline import run

    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", images.MAX_IMAGE_PIXELS)  # restored after the test
    cfg = demo_cfg("drawnui", "synthetic.n_train=4", "synthetic.n_test=2", "max_image_pixels=1000")
    instantiate(cfg.synthetic)
    with pytest.raises(ImageReadError, match=r"more than the cap of 1,000 \(max_image_pixels\)"):
        run(cfg)


def test_a_header_the_caller_has_read_is_not_read_again_and_is_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = tmp_path / "page.png"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(image)
    header = images.read_header(image)

    def no_header(path: object) -> images.ImageHeader:
        raise AssertionError(f"{path}: header read again")

    monkeypatch.setattr(images, "read_header", no_header)
    assert load_rgb(image, header=header).shape == (20, 30, 3)
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 500)
    with pytest.raises(ImageReadError, match=r"page.png: 30x20 = 600 pixels, more than the cap of 500"):
        load_rgb(image, header=header)


def _png_with_orientation_after_the_pixels(path: Path) -> None:
    """A 20x10 PNG whose eXIf chunk (orientation 6: rotated, width and height swap) follows IDAT."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (20, 10)).save(path, exif=exif.tobytes())
    data = path.read_bytes()
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append(data[at : at + 12 + length])
        at += 12 + length
    kind = [c[4:8] for c in chunks]
    exif_chunk = chunks[kind.index(b"eXIf")]
    rest = [c for c in chunks if c is not exif_chunk]
    path.write_bytes(data[:8] + b"".join(rest[:-1]) + exif_chunk + rest[-1])


def test_png_size_reads_the_orientation_without_decoding_the_pixels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rotated.png"
    _png_with_orientation_after_the_pixels(path)
    assert load_rgb(path).shape[:2] == (20, 10)  # OpenCV applies it: 10 wide, 20 high

    def decode(*args: object) -> None:
        raise AssertionError("image_size decoded the pixels")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", decode)
    assert image_size(path) == (10, 20)
