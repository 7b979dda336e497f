"""Real images of the kinds real data sets hold, read as a viewer shows them (tests/fixtures/real_images).

Each fixture (VQA-Med 2019 radiology images and Sketch2Code sketches, as released or turned into a grayscale,
palette, 16-bit, EXIF-rotated, odd-sized or transparent variant) must come out of `load_rgb` upright, at the
size `read_header` announces (what region run files are checked against), as 8-bit RGB with its contrast.
The pipelines run on them in tests/test_real_data.py.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from baselines.io.images import ImageReadError, image_size, load_rgb, read_header

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "real_images"
EXIF_ORIENTATION = 0x0112

# file -> (format, Pillow mode, stored (width, height), EXIF orientation, shown (width, height)); README.md there
VARIANTS: dict[str, tuple[str, str, tuple[int, int], int, tuple[int, int]]] = {
    "radiology/synpic18201.jpg": ("JPEG", "RGB", (397, 478), 1, (397, 478)),
    "radiology/synpic19884.jpg": ("JPEG", "RGB", (256, 256), 1, (256, 256)),
    "radiology/synpic21427.jpg": ("JPEG", "RGB", (213, 282), 1, (213, 282)),
    "radiology/synpic48754.jpg": ("JPEG", "L", (256, 256), 1, (256, 256)),
    "radiology/synpic15996.png": ("PNG", "I;16", (261, 182), 1, (261, 182)),
    "radiology/synpic44902.png": ("PNG", "P", (238, 270), 1, (238, 270)),
    "radiology/synpic24033.jpg": ("JPEG", "RGB", (333, 97), 1, (333, 97)),
    "radiology/synpic45022.jpg": ("JPEG", "RGB", (278, 313), 8, (313, 278)),
    "sketches/3cf4d5e6-cede-4272-aec0-f29790add91a.png": ("JPEG", "RGB", (1600, 277), 1, (1600, 277)),
    "sketches/d8583058-613e-4990-8973-5a231de3467b.jpg": ("JPEG", "RGB", (450, 600), 6, (600, 450)),
    "sketches/552147ca-3b14-44ed-8de7-4638f1598c92.png": ("PNG", "RGBA", (600, 450), 1, (600, 450)),
    "sketches/125ccd38-5f68-48c0-b060-8fb08dca2eca.png": ("PNG", "P", (600, 450), 1, (600, 450)),
}
SIXTEEN_BIT = FIXTURES / "radiology/synpic15996.png"
RGBA = FIXTURES / "sketches/552147ca-3b14-44ed-8de7-4638f1598c92.png"
TRANSPARENT_PALETTE = FIXTURES / "sketches/125ccd38-5f68-48c0-b060-8fb08dca2eca.png"


def test_the_fixtures_are_the_listed_variants() -> None:
    on_disk = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*"))
    assert on_disk == sorted(VARIANTS)
    assert sum(p.stat().st_size for p in FIXTURES.rglob("*")) < 400_000  # a few hundred KB in all
    for name, (kind, mode, stored, orientation, _) in VARIANTS.items():
        with Image.open(FIXTURES / name) as image:
            assert (image.format, image.mode, image.size) == (kind, mode, stored), name
            assert image.getexif().get(EXIF_ORIENTATION, 1) == orientation, name
    with Image.open(TRANSPARENT_PALETTE) as image:
        assert image.info["transparency"] == 0


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_fixture_is_read_upright_at_its_header_size_as_8_bit_rgb(name: str) -> None:
    path = FIXTURES / name
    *_, orientation, shown = VARIANTS[name]
    header = read_header(path)
    assert header.size == image_size(path) == shown
    assert header.orientation == orientation and header.jpeg == (VARIANTS[name][0] == "JPEG")
    image = load_rgb(path)
    assert image.dtype == np.uint8 and image.shape == (shown[1], shown[0], 3)
    assert int(image.max()) - int(image.min()) >= 150  # its contrast: not crushed to black nor washed out
    for longest in (64, 200):  # a reduced JPEG decode keeps the header's proportions (load_scaled relies on it)
        reduced = load_rgb(path, longest_at_least=longest, header=header).shape[:2]
        assert any(reduced == (-(-shown[1] // k), -(-shown[0] // k)) for k in (1, 2, 4, 8)), reduced
        assert max(reduced) >= min(longest, max(shown))


@pytest.mark.parametrize(
    ("name", "turn"), [("radiology/synpic45022.jpg", 1), ("sketches/d8583058-613e-4990-8973-5a231de3467b.jpg", -1)]
)
def test_an_exif_rotated_jpeg_is_turned_by_its_tag(name: str, turn: int) -> None:
    """Orientation 8 shows the stored pixels turned a quarter counter-clockwise, 6 clockwise."""
    path = FIXTURES / name
    stored = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(load_rgb(path), np.rot90(stored, turn))


def test_a_12_bit_scan_in_a_16_bit_png_keeps_its_contrast() -> None:
    """Its values (0..4095) are scaled by 12 bits, as its 8-bit source was scaled up, not by 16 (0..15)."""
    with Image.open(SIXTEEN_BIT) as image:
        values = np.asarray(image).astype(np.int64)
    assert values.max() <= 4095 and values.max() > 255
    grey = load_rgb(SIXTEEN_BIT)
    np.testing.assert_array_equal(grey[:, :, 0], np.rint(values * 255 / 4095).astype(np.uint8))
    assert (grey == grey[:, :, :1]).all() and grey.max() > 200


@pytest.mark.parametrize("bits", [8, 12, 16])
def test_16_bit_samples_are_scaled_by_the_bit_depth_their_largest_value_needs(tmp_path: Path, bits: int) -> None:
    top = 2**bits - 1
    values = np.array([[0, top // 2, top], [1, top // 4, top]], np.uint16)
    Image.fromarray(values).save(tmp_path / "scan.png")
    expected = np.rint(values * (255 / top)).astype(np.uint8)
    np.testing.assert_array_equal(load_rgb(tmp_path / "scan.png")[:, :, 1], expected)
    assert expected[0, 2] == 255  # the largest value is white, nothing beyond it clipped


def test_transparent_pixels_are_white_and_opaque_ones_keep_their_colour() -> None:
    with Image.open(RGBA) as image:
        rgba = np.asarray(image)
    loaded = load_rgb(RGBA)
    clear, solid = rgba[:, :, 3] == 0, rgba[:, :, 3] == 255
    assert clear.mean() > 0.5 and solid.any()  # paper made transparent (black under it), the pen opaque
    assert (rgba[clear][:, :3] == 0).all() and (loaded[clear] == 255).all()
    np.testing.assert_array_equal(loaded[solid], rgba[solid][:, :3])

    with Image.open(TRANSPARENT_PALETTE) as image:
        indices, palette = np.asarray(image), np.asarray(image.getpalette(), np.uint8).reshape(-1, 3)
    loaded = load_rgb(TRANSPARENT_PALETTE)
    assert (palette[0] == 0).all() and (indices == 0).mean() > 0.5  # entry 0: black and transparent
    assert (loaded[indices == 0] == 255).all()
    np.testing.assert_array_equal(loaded[indices != 0], palette[indices[indices != 0]])


# ---- the orientation read from the header is the one the decoder applies, in every format ---------------------


def _asymmetric() -> np.ndarray:
    """A 24x40 image in which every turn and mirror differs (a JPEG keeps its big blocks)."""
    image = np.zeros((24, 40, 3), np.uint8)
    image[:8, :16] = (255, 0, 0)
    image[16:, 8:40] = (0, 0, 255)
    image[8:16, 32:] = (0, 255, 0)
    return image


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp"])
def test_each_exif_orientation_is_applied_as_pillow_applies_it(tmp_path: Path, suffix: str, orientation: int) -> None:
    """OpenCV 5 cannot decode a TIFF with orientation 5 to 8 and ignores 2 to 4 there: Pillow reads those."""
    path = tmp_path / f"turned{suffix}"
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    Image.fromarray(_asymmetric()).save(path, exif=exif, **({"quality": 95} if suffix == ".jpg" else {}))
    with Image.open(path) as image:
        expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB")).astype(int)
    loaded = load_rgb(path)
    assert image_size(path) == (loaded.shape[1], loaded.shape[0])
    tolerance = 8 if suffix in (".jpg", ".webp") else 0  # two decoders of one lossy file
    assert np.abs(loaded.astype(int) - expected).max() <= tolerance


def test_an_orientation_given_only_in_xmp_turns_the_image_and_its_size_alike(tmp_path: Path) -> None:
    """Pillow reads an XMP `tiff:Orientation` when EXIF has none; OpenCV does not: the size from the header and
    the decoded image disagreed (boxes scaled by 40/24 across and 24/40 down)."""
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
    )
    path = tmp_path / "xmp.jpg"
    Image.fromarray(_asymmetric()).save(path, xmp=xmp, quality=95)
    assert image_size(path) == (24, 40)
    assert load_rgb(path).shape == (40, 24, 3)
    assert load_rgb(path, longest_at_least=10).shape == (10, 6, 3)  # decoded at 1/4, turned


def test_a_truncated_16_bit_tiff_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.tif"
    Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)).save(path)
    path.write_bytes(path.read_bytes()[:4000])  # the header reads, half the pixels are gone
    assert image_size(path) == (64, 64)
    with pytest.raises(ImageReadError, match=r"cut.tif: cannot decode image \(image file is truncated"):
        load_rgb(path)
