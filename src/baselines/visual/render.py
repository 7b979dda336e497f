"""Drawing primitives on PIL images: regions, legends, text beside an image, tiles and grids.

Colours: regions in one colour per class (`class_colours`, named in a `legend`); text beside a picture
shows a match or ground truth green, a wrong item red, a missed one and muted text grey.
Everything is drawn with Pillow (and its bundled font), so no display or font install is needed.
"""

from __future__ import annotations

import colorsys
import dataclasses
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from baselines.types import Region

Colour = tuple[int, int, int]
TRUTH: Colour = (30, 170, 90)  # green
WRONG: Colour = (215, 40, 40)  # red
MUTED: Colour = (120, 120, 120)
INK: Colour = (20, 20, 20)
PAPER: Colour = (255, 255, 255)


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at a pixel size (its bitmap font where Pillow lacks FreeType)."""
    return ImageFont.load_default(size)


def _text_size(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> tuple:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=face)
    return left, top, right - left, bottom - top


def class_colours(n: int) -> list[Colour]:
    """n distinct colours, colour k for class label k, the same on every picture and plot of a task.

    matplotlib's qualitative maps (tab10 up to 10 classes, else tab20, tab20b and tab20c: 60 colours),
    then evenly spaced hues for the classes beyond.
    """
    from matplotlib import colormaps

    names = ("tab10",) if n <= 10 else ("tab20", "tab20b", "tab20c")
    palette: list[Colour] = []
    for name in names:
        for k in range(colormaps[name].N):
            r, g, b, _ = colormaps[name](k)
            colour = (round(r * 255), round(g * 255), round(b * 255))
            if colour not in palette:
                palette.append(colour)
    extra = max(0, n - len(palette))
    for k in range(extra):
        r, g, b = colorsys.hsv_to_rgb(k / extra, 0.75, 0.55 + 0.4 * (k % 2))
        palette.append((round(r * 255), round(g * 255), round(b * 255)))
    return palette[:n]


def ink_on(colour: Colour) -> Colour:
    """Black or white, whichever reads better on colour (light tab20 shades take black text)."""
    r, g, b = colour
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 150 else PAPER


def class_colour(label: int, colours: Sequence[Colour]) -> Colour:
    """The colour of label; a label outside the class list (never in a validated run) is grey."""
    return colours[label] if 0 <= label < len(colours) else MUTED


def draw_regions(
    image: Image.Image,
    regions: Sequence[Region],
    classes: Sequence[str],
    colours: Sequence[Colour],
    show_scores: bool = True,
    corner: Literal["top", "bottom"] = "top",
) -> Image.Image:
    """Boxes (outlines) or polygons (filled, translucent) in their class's colour, with a `class score`
    tag in a corner.

    Every change stays inside the region's box when the tag fits there (it is placed outside, above
    or below, only for boxes too small to hold it). Box coordinates are pixel edges: (x0, y0, x1, y1)
    covers columns x0 .. x1 - 1.

    Args:
        image: The picture (not modified).
        regions: What to draw.
        classes: Names of the labels.
        colours: One colour per label (`class_colours`).
        show_scores: Whether tags show the confidence (predictions) or the class only (ground truth).
        corner: Where the tag goes: top-left or bottom-left.
    """
    picture = image.convert("RGB")
    width = max(2, round(min(picture.size) / 300))
    polygons = [r for r in regions if r.polygon]
    if polygons:
        overlay = Image.new("RGBA", picture.size, (0, 0, 0, 0))
        layer = ImageDraw.Draw(overlay)
        for region in polygons:
            colour = class_colour(region.label, colours)
            points = list(zip(region.polygon[0::2], region.polygon[1::2], strict=True))
            if len(points) < 2:  # a one-vertex polygon (coral ground truth has them): a dot
                x, y = points[0]
                layer.ellipse((x - width, y - width, x + width, y + width), fill=(*colour, 255))
            else:
                layer.polygon(points, fill=(*colour, 90), outline=(*colour, 255), width=width)
        picture = Image.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for region in regions:
        if not region.polygon:
            x0, y0, x1, y1 = _pixels(region.box)
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=class_colour(region.label, colours), width=width)
    face = font(max(11, round(min(picture.size) / 40)))
    for region in regions:
        name = classes[region.label] if 0 <= region.label < len(classes) else str(region.label)
        text = f"{name} {region.score:.2f}" if show_scores else name
        _tag(draw, text, _pixels(region.box), class_colour(region.label, colours), face, corner)
    return picture


def scale_regions(regions: Sequence[Region], factor: float) -> list[Region]:
    """regions with every coordinate multiplied by factor (for a picture resized by factor)."""
    return [
        dataclasses.replace(
            r,
            box=(r.box[0] * factor, r.box[1] * factor, r.box[2] * factor, r.box[3] * factor),
            polygon=tuple(v * factor for v in r.polygon),
        )
        for r in regions
    ]


def legend(entries: Sequence[tuple[str, Colour]], width: int, size: int = 15) -> Image.Image:
    """A strip of colour swatches with their names, wrapped into rows of at most width pixels."""
    face = font(size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    swatch, gap, step = size, 8, size + 8
    cells = [(name, colour, swatch + 4 + round(probe.textlength(name, font=face))) for name, colour in entries]
    rows: list[list[tuple[str, Colour, int]]] = [[]]
    used = gap
    for cell in cells:
        if rows[-1] and used + cell[2] + gap > width:
            rows.append([])
            used = gap
        rows[-1].append(cell)
        used += cell[2] + 2 * gap
    canvas = Image.new("RGB", (max(1, width), gap + step * len(rows)), PAPER)
    draw = ImageDraw.Draw(canvas)
    for row_index, row in enumerate(rows):
        x, y = gap, gap // 2 + step * row_index
        for name, colour, cell_width in row:
            draw.rectangle((x, y + 2, x + swatch - 1, y + 2 + swatch - 1), fill=colour)
            draw.text((x + swatch + 4, y), name, fill=INK, font=face)
            x += cell_width + 2 * gap
    return canvas


def titled(image: Image.Image, text: str, colour: Colour = INK, size: int = 15) -> Image.Image:
    """image under one line of text (cut to fit its width)."""
    face = font(size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    while len(text) > 4 and probe.textlength(text, font=face) > image.width - 8:
        text = text[:-2]
        text = text.rstrip("…") + "…"
    canvas = Image.new("RGB", (image.width, image.height + size + 10), PAPER)
    ImageDraw.Draw(canvas).text((4, 4), text, fill=colour, font=face)
    canvas.paste(image.convert("RGB"), (0, size + 10))
    return canvas


def side_by_side(pictures: Sequence[Image.Image], gap: int = 8) -> Image.Image:
    """Pictures in one row, top-aligned."""
    height = max(p.height for p in pictures)
    canvas = Image.new("RGB", (sum(p.width for p in pictures) + gap * (len(pictures) - 1), height), PAPER)
    x = 0
    for picture in pictures:
        canvas.paste(picture, (x, 0))
        x += picture.width + gap
    return canvas


def _pixels(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (round(v) for v in box)
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _tag(
    draw: ImageDraw.ImageDraw,
    text: str,
    box: tuple[int, int, int, int],
    colour: Colour,
    face: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    corner: Literal["top", "bottom"],
) -> None:
    x0, y0, x1, y1 = box
    left, top, w, h = _text_size(draw, text, face)
    pad = 2
    inside = w + 2 * pad <= x1 - x0 and h + 2 * pad <= y1 - y0
    at_top, at_bottom = (y0 if inside else y0 - h - 2 * pad), (y1 - h - 2 * pad if inside else y1)
    y = at_top if corner == "top" else at_bottom
    if not inside:  # outside the box: keep the tag within the picture
        width, height = draw.im.size
        x0 = max(0, min(x0, width - w - 2 * pad))
        y = max(0, min(y, height - h - 2 * pad))
    draw.rectangle((x0, y, x0 + w + 2 * pad - 1, y + h + 2 * pad - 1), fill=colour)
    draw.text((x0 + pad - left, y + pad - top), text, fill=ink_on(colour), font=face)


def fit(image: Image.Image, longest: int) -> Image.Image:
    """The image scaled so that its longer side is `longest` pixels."""
    scale = longest / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.convert("RGB").resize(size, Image.Resampling.BILINEAR)


@dataclass(frozen=True)
class Line:
    """A line of text beside a picture; a heading is bold-ish (larger) and starts a section."""

    text: str
    colour: Colour = INK
    heading: bool = False


MAX_TEXT_CHARS = 600
"""The most characters of one text (a caption, an answer, an id) a picture shows: the rest is cut with an
ellipsis, so a 1 MB caption makes a panel of a few lines, not a picture 350,000 pixels tall."""
MAX_PANEL_ROWS = 60


def clip_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """text, or its first limit characters and an ellipsis that says how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def beside(image: Image.Image, lines: Sequence[Line], panel_width: int = 440, size: int = 15) -> Image.Image:
    """The image with a white panel of wrapped text lines to its right (each text cut at MAX_TEXT_CHARS, the
    panel at MAX_PANEL_ROWS rows, with an ellipsis)."""
    face, heading_face = font(size), font(size + 2)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    columns = max(10, int((panel_width - 20) / max(1.0, probe.textlength("abcdefghij", font=face) / 10)))
    rows: list[tuple[str, Colour, ImageFont.FreeTypeFont | ImageFont.ImageFont, int]] = []
    for line in lines:
        chosen = heading_face if line.heading else face
        gap = size // 2 if line.heading and rows else 0
        for k, part in enumerate(textwrap.wrap(clip_text(line.text), columns) or [""]):
            rows.append((part, line.colour, chosen, gap if k == 0 else 0))
    if len(rows) > MAX_PANEL_ROWS:
        rows = [*rows[: MAX_PANEL_ROWS - 1], (f"… ({len(rows) - MAX_PANEL_ROWS + 1} more lines)", MUTED, face, 0)]
    step = size + 6
    height = max(image.height, 10 + sum(step + gap for *_, gap in rows) + 10)
    canvas = Image.new("RGB", (image.width + panel_width, height), PAPER)
    canvas.paste(image.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = 10
    for text, colour, chosen, gap in rows:
        y += gap
        draw.text((image.width + 10, y), text, fill=colour, font=chosen)
        y += step
    return canvas


def tile(
    image: Image.Image | None, size: tuple[int, int], captions: Sequence[Line], border: Colour | None
) -> Image.Image:
    """A thumbnail letterboxed into size, framed in border (if any), with caption lines under it."""
    step = 17
    width, height = size
    canvas = Image.new("RGB", (width, height + 4 + step * len(captions)), PAPER)
    draw = ImageDraw.Draw(canvas)
    if image is None:
        draw.rectangle((0, 0, width - 1, height - 1), fill=(225, 225, 225))
    else:
        scale = min(width / image.width, height / image.height)  # up or down: small CT crops are enlarged
        thumb = image.convert("RGB").resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BILINEAR
        )
        canvas.paste(thumb, ((width - thumb.width) // 2, (height - thumb.height) // 2))
    if border is not None:
        draw.rectangle((0, 0, width - 1, height - 1), outline=border, width=5)
    for k, line in enumerate(captions):
        draw.text((4, height + 2 + step * k), clip_text(line.text, 200), fill=line.colour, font=font(13))
    return canvas


def grid(tiles: Sequence[Image.Image], columns: int, title: Sequence[Line], gap: int = 8) -> Image.Image:
    """Tiles in rows of `columns` under title lines."""
    columns = max(1, min(columns, len(tiles))) if tiles else 1
    cell_w = max((t.width for t in tiles), default=200)
    cell_h = max((t.height for t in tiles), default=0)
    rows = -(-len(tiles) // columns)
    header = 12 + 24 * len(title)
    canvas = Image.new("RGB", (gap + columns * (cell_w + gap), header + rows * (cell_h + gap) + gap), PAPER)
    draw = ImageDraw.Draw(canvas)
    for k, line in enumerate(title):
        draw.text((gap, 8 + 24 * k), clip_text(line.text, 300), fill=line.colour, font=font(18 if line.heading else 15))
    for k, picture in enumerate(tiles):
        row, column = divmod(k, columns)
        canvas.paste(picture, (gap + column * (cell_w + gap), header + row * (cell_h + gap)))
    return canvas


def stack(pictures: Sequence[Image.Image], gap: int = 6) -> Image.Image:
    """Pictures one under another, left-aligned."""
    width = max(p.width for p in pictures)
    canvas = Image.new("RGB", (width, sum(p.height for p in pictures) + gap * (len(pictures) - 1)), PAPER)
    y = 0
    for picture in pictures:
        canvas.paste(picture, (0, y))
        y += picture.height + gap
    return canvas


def gray(values: np.ndarray) -> Image.Image:
    """A 2-D array in [0, 1] as a grey RGB picture."""
    return Image.fromarray((np.clip(values, 0, 1) * 255).astype(np.uint8), mode="L").convert("RGB")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(image: Image.Image, path: str | Path, overwrite: bool = True) -> Path:
    """Writes a PNG atomically (a temporary file, then a rename)."""
    from baselines.io.atomic import atomic_write_bytes

    return atomic_write_bytes(path, png_bytes(image), overwrite=overwrite)
