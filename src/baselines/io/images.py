"""Image reading with clear errors, and EXIF-aware sizes that always match the decoded image."""

from __future__ import annotations

import logging
import struct
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, NamedTuple

import cv2
import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, TiffImagePlugin, UnidentifiedImageError

from baselines.errors import LISTED_FILES, DataError, FormatError, MissingDataError, Problem, listing

log = logging.getLogger(__name__)
BadImagePolicy = Literal["error", "skip"]
IdFrom = Literal["name", "stem"]
"""Whether a task's official image id is the file name (drawnUI, LMRT) or its stem (coral, caption, VQA-Med)."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Pillow's decompression-bomb limit (2 x Image.MAX_IMAGE_PIXELS), 15x the largest official image (coral,
# 4032x3024): larger images are refused from their header, before anything is decoded.
MAX_IMAGE_PIXELS = 178_956_970
_EXIF_ORIENTATION = 0x0112
_TIFF_WIDTH, _TIFF_HEIGHT = 256, 257
_JPEG_FORMATS = ("JPEG", "MPO")  # MPO: a phone's multi-picture JPEG, first picture


class ImageReadError(OSError, DataError):
    """An image file that is missing or cannot be decoded (or, from `check_images`, every such file)."""


_REDUCED_FLAGS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


def set_max_image_pixels(pixels: int) -> None:
    """Sets the pixel cap (the config's `max_image_pixels`, applied by the pipeline for the whole process and
    the loader workers it forks)."""
    global MAX_IMAGE_PIXELS
    if pixels <= 0:
        raise ValueError(f"max_image_pixels must be positive, got {pixels}")
    MAX_IMAGE_PIXELS = int(pixels)


class ImageHeader(NamedTuple):
    """What an image's header says, read without decoding the pixels."""

    width: int
    """As shown: after the EXIF orientation (so swapped with the stored width for orientations 5 to 8)."""
    height: int
    orientation: int
    """The EXIF orientation, 1 (as stored) to 8, as Pillow reads it: the EXIF tag, a TIFF's own tag, or an XMP
    `tiff:Orientation` when there is no EXIF one; any other value counts as 1."""
    jpeg: bool
    """Whether the content is a JPEG, whatever the file is named (Sketch2Code's `.png` files are JPEGs)."""

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


@contextmanager
def _opened(path: str | Path) -> Iterator[Image.Image]:
    """Pillow's lazy open (the header only); every failure an ImageReadError naming the file."""
    if (missing := _not_a_file(Path(path))) is not None:
        raise ImageReadError(f"{path}: {missing}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the pixel cap is ours to apply
            with Image.open(path) as image:
                yield image
    except ImageReadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{path}: refused before decoding, a decompression bomb ({exc})") from None
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: cannot read image header ({exc})") from None


def _header_of(image: Image.Image) -> ImageHeader:
    width, height = image.size
    if isinstance(image, TiffImagePlugin.TiffImageFile):  # Pillow 13 reports a TIFF's size turned: the stored one
        width, height = image.tag_v2.get(_TIFF_WIDTH, width), image.tag_v2.get(_TIFF_HEIGHT, height)
    orientation = _orientation(image)
    orientation = orientation if orientation in range(1, 9) else 1
    if orientation >= 5:
        width, height = height, width
    return ImageHeader(width, height, orientation, image.format in _JPEG_FORMATS)


def read_header(path: str | Path) -> ImageHeader:
    """The image's header (size as shown, orientation, format), read without decoding the pixels.

    Raises:
        ImageReadError: Naming the file, if it is missing, not an image, or a decompression bomb.
    """
    with _opened(path) as image:
        return _header_of(image)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as `load_rgb` returns the image (EXIF orientation applied), read from the header only."""
    return read_header(path).size


def load_rgb(path: str | Path, longest_at_least: int | None = None, header: ImageHeader | None = None) -> np.ndarray:
    """Reads an image as an HxWx3 uint8 RGB array, turned by its EXIF orientation (as `read_header` reads it).

    JPEGs are decoded by OpenCV; any other format by Pillow, which reads what a JPEG cannot hold: 16-bit
    samples are scaled to 8 bits by the smallest bit depth (8 to 16) that holds the image's largest value, so
    12-bit CT or MR values stored in a 16-bit PNG span 0..255 instead of coming out nearly black (0..15), and
    nothing is clipped; transparent pixels (an alpha channel, or a palette or grey level marked transparent)
    are laid over white, as a viewer shows them on a page, rather than showing whatever colour lies under them
    (often black: a pen sketch on transparent paper would vanish).

    Args:
        longest_at_least: When set, a JPEG is decoded at 1/2, 1/4 or 1/8 scale (in the DCT domain,
            several times faster) as long as its longest side stays at least this long: for inputs
            that are resized down anyway, e.g. lifelog photos letterboxed to 224.
        header: The image's header from `read_header`, when the caller has read it already (else read
            here); the pixel cap is applied to it either way.

    Raises:
        ImageReadError: Naming the file, if it is missing or cannot be decoded.
    """
    path = Path(path)
    if header is None or not header.jpeg:
        with _opened(path) as image:
            if image.format not in _JPEG_FORMATS:
                return _decode_with_pillow(path, image)  # one open: a PNG's header read would decode it too
            header = _header_of(image)
    # the header only so far: a decompression bomb is refused before decoding
    if (too_big := _too_many_pixels(header.width, header.height)) is not None:
        raise ImageReadError(f"{path}: {too_big}")
    # OpenCV would apply the EXIF tag itself but not an XMP orientation, which Pillow reads: the header's
    # orientation is applied here instead, so the decoded image always has the header's size.
    flag = cv2.IMREAD_COLOR
    if longest_at_least:
        longest = max(header.width, header.height)
        flag = next((f for factor, f in _REDUCED_FLAGS if longest // factor >= longest_at_least), flag)
    if (cut := jpeg_truncation(path)) is not None:
        raise ImageReadError(f"{path}: {cut}")
    decoded = cv2.imread(str(path), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    if decoded is None:
        raise ImageReadError(f"{path}: cannot decode image (corrupt or unsupported format)")
    return np.ascontiguousarray(_ORIENT[header.orientation](cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)))


_JPEG_END = b"\xff\xd9"  # the EOI marker; inside the entropy-coded data a 0xFF is always followed by 0x00 or RSTn
_JPEG_TAIL = 4096


def jpeg_truncation(path: Path) -> str | None:
    """Why a JPEG's data stops short, or None when it is complete.

    OpenCV's libjpeg decodes a truncated JPEG without an error: the missing rows come out grey and only
    "Premature end of JPEG file" on stderr tells. A complete JPEG ends with its EOI marker (padding of zero
    bytes or line ends aside), so a look at its last bytes passes nearly every file; one that does not end so
    (cut short, or with data appended after the image, which is harmless) is decoded by Pillow at 1/8 scale (the
    whole stream is read, only the inverse DCT is cheaper), and Pillow, with LOAD_TRUNCATED_IMAGES left False,
    raises on a truncated stream.
    """
    with path.open("rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(handle.tell() - _JPEG_TAIL, 0))
        if handle.read().rstrip(b"\x00\r\n").endswith(_JPEG_END):
            return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.draft("RGB", (max(image.width // 8, 1), max(image.height // 8, 1)))
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return f"truncated or corrupt JPEG data ({exc}): decoded, its missing part would be grey"
    return None


# EXIF orientation -> what shows a stored HxWxC array upright (the transpositions of PIL.ImageOps.exif_transpose;
# tests/test_real_images.py checks each against it).
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}
_TRANSPARENT_BACKGROUND = (255, 255, 255, 255)  # white, as a page under a transparent image


def _decode_with_pillow(path: Path, image: Image.Image) -> np.ndarray:
    """The opened image's pixels, turned as `read_header` says (Pillow 13 turns a TIFF while loading and drops
    its tag, so it is turned once either way), as 8-bit RGB."""
    if (too_big := _too_many_pixels(*image.size)) is not None:  # turning keeps width x height
        raise ImageReadError(f"{path}: {too_big}")
    try:
        image.load()
        return _to_rgb8(ImageOps.exif_transpose(image))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageReadError(f"{path}: cannot decode image ({exc})") from None


def _to_rgb8(image: Image.Image) -> np.ndarray:
    if image.mode.startswith("I"):  # 16- or 32-bit integer greys (I;16, I;16B, I)
        values = np.asarray(image, np.int64)
        values = values - min(int(values.min(initial=0)), 0)  # signed data (e.g. HU) starts at 0
        bits = max(8, int(values.max(initial=0)).bit_length())
        grey = np.rint(values * (255 / (2**bits - 1))).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, _TRANSPARENT_BACKGROUND), rgba)
    return np.array(image.convert("RGB"))


def _orientation(image: Image.Image) -> int:
    """The orientation tag as Pillow reads it (EXIF, a TIFF's own, or XMP), 1 when there is none.

    For a PNG, Pillow's `getexif()` decodes the whole image to look for an `eXIf` chunk after the pixel data
    (which OpenCV applies too); on real 1380x920 PNGs that doubled the cost of loading each one. Its chunks
    are walked here instead and the chunk handed to Pillow; a PNG with XMP metadata is left to Pillow.
    """
    if isinstance(image, PngImagePlugin.PngImageFile) and not {"exif", "xmp", "XML:com.adobe.xmp"} & set(image.info):
        raw = _png_chunk(Path(str(image.filename)), b"eXIf")
        if not raw:
            return 1
        image.info["exif"] = raw
    return int(image.getexif().get(_EXIF_ORIENTATION, 1))


def _png_chunk(path: Path, kind: bytes) -> bytes | None:
    """The data of a PNG's first chunk of that type, reading chunk headers only (data is seeked over)."""
    with path.open("rb") as handle:
        handle.seek(8)  # the signature
        while len(header := handle.read(8)) == 8:
            length, name = struct.unpack(">I4s", header)
            if name == kind:
                return handle.read(length)
            if name == b"IEND":
                break
            handle.seek(length + 4, 1)  # the data and its CRC
    return None


def id_of(path: Path, id_from: IdFrom) -> str:
    """The official id of an image file: its name or its stem."""
    return path.name if id_from == "name" else path.stem


def ids_of(paths: Iterable[Path], id_from: IdFrom) -> dict[str, Path]:
    """Image id -> path for the image files, refusing two files with one id (`X.JPG` and `X.png` when ids are
    stems; the same name in two subfolders): a run file holds one line per id, so one of them would be dropped.

    Raises:
        FormatError: Naming both files of every id that more than one file has.
    """
    found: dict[str, Path] = {}
    problems = []
    for path in paths:
        image_id = id_of(path, id_from)
        if image_id in found:
            problems.append(
                Problem(str(path), None, f"image id {image_id!r} also at {found[image_id]}: rename or remove one")
            )
        else:
            found[image_id] = path
    if problems:
        raise FormatError(problems[:LISTED_FILES], max(len(problems) - LISTED_FILES, 0))
    return found


def find_images(root: str | Path, id_from: IdFrom) -> dict[str, Path]:
    """Image id -> path for every image under root, in any subfolder (modality or day folders), with any
    image extension in any case; the id is the file name or its stem, as the task names its images.

    Raises:
        FileNotFoundError: If root does not exist.
        FormatError: If two files share an id (see ids_of).
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingDataError(f"{root}: image folder not found")
    return ids_of((p for p in sorted(root.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES), id_from)


def find_images_by_stem(root: str | Path) -> dict[str, Path]:
    """Image id (file stem) -> path for every image under root (medical caption, VQA-Med); see find_images."""
    return find_images(root, "stem")


def image_paths(found: Mapping[str, Path], ids: Iterable[str], folder: str | Path) -> dict[str, Path]:
    """Image id -> file for the ids, from the images `found` in folder (see find_images); an id without a
    file maps to `<folder>/<id>.jpg`, which the readable check (`check_images`) then reports as missing."""
    return {image_id: found.get(image_id, Path(folder) / f"{image_id}.jpg") for image_id in ids}


def find_images_by_name(root: str | Path) -> dict[str, Path]:
    """Image file name (the LMRT image id) -> path for every image under root (day folders); see find_images."""
    return find_images(root, "name")


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in folder, sorted by name.

    Raises:
        FileNotFoundError: If folder does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingDataError(f"{folder}: image folder not found")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def images_by_id(folder: str | Path, id_from: IdFrom) -> dict[str, Path]:
    """Image id -> file for the images directly in folder, in name order (see list_images and ids_of).

    Raises:
        FileNotFoundError: If folder does not exist.
        FormatError: If two files share an id.
    """
    return ids_of(list_images(folder), id_from)


def unreadable_reason(path: str | Path) -> str | None:
    """Why an image cannot be used (missing, not an image, truncated), or None if it verifies."""
    path = Path(path)
    try:
        too_big = _too_many_pixels(*image_size(path))
    except ImageReadError as exc:
        return str(exc).removeprefix(f"{path}: ")
    if too_big is not None:
        return too_big
    jpeg = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                jpeg = image.format in _JPEG_FORMATS
                image.verify()  # walks a PNG's whole stream: catches truncated files that header reads miss
    except (OSError, UnidentifiedImageError, SyntaxError, Image.DecompressionBombError) as exc:
        return f"cannot decode ({exc})"
    return jpeg_truncation(path) if jpeg else None  # Pillow's verify does not read a JPEG's data


def _not_a_file(path: Path) -> str | None:
    """What a path named like an image is when it is not a readable file, or None."""
    if path.is_file():
        return None
    if path.is_dir():
        return "a folder, not an image file"
    if path.is_symlink():
        return "a symbolic link whose target is missing (or a loop of links)"
    if path.exists():
        return "not a regular file (a device, socket or pipe)"
    return "file not found"


def _too_many_pixels(width: int, height: int) -> str | None:
    if width * height <= MAX_IMAGE_PIXELS:
        return None
    return (
        f"{width}x{height} = {width * height:,} pixels, more than the cap of {MAX_IMAGE_PIXELS:,} "
        "(max_image_pixels): a decompression bomb or an image far larger than the "
        "task's, refused before decoding"
    )


def check_images(
    paths: Sequence[Path],
    policy: BadImagePolicy,
    what: str,
    reason: Callable[[Path], str | None] = unreadable_reason,
) -> tuple[list[int], list[str]]:
    """Checks that every image (or volume) can be read before training or prediction starts.

    Args:
        paths: Image files.
        policy: "error" raises on the first check that finds problems; "skip" keeps the readable ones
            and reports the others (log warning and the returned list), never dropping silently.
        what: Names the split in messages.
        reason: Why a file cannot be used, or None if it can (default: `unreadable_reason`).

    Returns:
        Indices of the usable paths, and "path: reason" for each skipped one.

    Raises:
        ImageReadError: Under "error", listing every unreadable file.
    """
    problems = [(i, f"{p}: {why}") for i, p in enumerate(paths) if (why := reason(p))]
    if problems and policy == "error":
        raise ImageReadError(
            f"{len(problems)} unreadable file(s) in the {what} split (set data.on_bad_image=skip to skip "
            f"and report them):\n{listing([message for _, message in problems])}"
        )
    bad = {i for i, _ in problems}
    skipped = [message for _, message in problems]
    for message in skipped:
        log.warning("skipping unreadable file in the %s split: %s", what, message)
    return [i for i in range(len(paths)) if i not in bad], skipped
