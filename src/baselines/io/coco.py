"""COCO interoperability of the region tasks (drawnUI, coral boxes and polygons).

- `coco_dataset`: ground truth as a COCO dataset (`images`, `annotations`, `categories`).
- `coco_results`: a run as COCO results (the list `COCOeval`/`COCO.loadRes` read; polygons as RLE,
  which is what COCO results hold for segmentation).
- `regions_from_coco`: COCO detections (MMDetection, detectron2) or a labelling tool's COCO dataset
  back into regions for a run file.

Conventions: category id = class index + 1 with the class name; image ids number the test images in
the order given (the sorted image folder), file names are the official ids. Scored by pycocotools
with the project's IoU threshold and area range, an exported pair gives the project's mAP: polygons of
one or two vertices, which that mAP leaves out (pycocotools cannot draw them; coral ground truth read for
scoring keeps them), are left out of the export too, with a FormatWarning that counts them. A polygon of
3 or more vertices without area is exported (pycocotools draws it as an empty mask, as the mAP does).
"""

from __future__ import annotations

import json
import math
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from pycocotools import mask as mask_utils

from baselines.errors import FormatError, FormatWarning, Problem, ProblemCollector
from baselines.io.images import IdFrom, id_of
from baselines.io.polygons import (
    Sizes,
    canvas_size,
    clip_to_canvas,
    drawable,
    flat,
    mask_to_polygons,
    polygon_rle,
    unflat,
    xywh,
)
from baselines.types import Region, RegionKind, peek_regions, region_columns


def categories(classes: Sequence[str]) -> list[dict[str, Any]]:
    return [{"id": label + 1, "name": name, "supercategory": "none"} for label, name in enumerate(classes)]


def image_records(ids: Sequence[str], sizes: Sizes) -> list[dict[str, Any]]:
    """COCO `images`: id = position + 1, file_name = the official id, width and height when known."""
    records = []
    for number, image_id in enumerate(ids, start=1):
        record: dict[str, Any] = {"id": number, "file_name": image_id}
        size = sizes.get(image_id)
        if size is not None:
            record["width"], record["height"] = size
        records.append(record)
    return records


def annotation_records(
    truth: Mapping[str, Sequence[Region]], numbers: Mapping[str, int], sizes: Sizes, kind: RegionKind
) -> list[dict[str, Any]]:
    """COCO `annotations`: boxes as `bbox` (area w*h); polygons as `segmentation` polygons with the
    mask's area and bounding box (what the project's scorer compares). Polygons of one or two vertices
    are left out with a FormatWarning that counts them."""
    left_out = [0]
    records = list(_annotation_records(truth, numbers, sizes, kind, left_out))
    _warn_undrawable(left_out[0], "ground-truth")
    return records


def coco_results(
    run: Mapping[str, Sequence[Region]], numbers: Mapping[str, int], sizes: Sizes, kind: RegionKind
) -> list[dict[str, Any]]:
    """COCO results: `bbox` for boxes, an RLE `segmentation` for polygons (COCO results hold RLE).
    Polygons of one or two vertices are left out with a FormatWarning that counts them."""
    left_out = [0]
    records = list(_result_records(run, numbers, sizes, kind, left_out))
    _warn_undrawable(left_out[0], "run")
    return records


def _annotation_records(
    truth: Mapping[str, Sequence[Region]],
    numbers: Mapping[str, int],
    sizes: Sizes,
    kind: RegionKind,
    left_out: list[int],
) -> Iterator[dict[str, Any]]:
    for count, (image_id, (width, height), region) in enumerate(_each_drawable(truth, sizes, kind, left_out), 1):
        record: dict[str, Any] = {"id": count, "image_id": numbers[image_id], "iscrowd": 0}
        record["category_id"] = region.label + 1
        if kind == "box":
            record["bbox"] = xywh(region)
            record["area"] = record["bbox"][2] * record["bbox"][3]
        else:
            rle = polygon_rle(region, height, width)
            record["segmentation"] = [list(region.polygon)]
            record["area"] = float(mask_utils.area(rle))
            record["bbox"] = [float(v) for v in mask_utils.toBbox(rle)]
        yield record


def _result_records(
    run: Mapping[str, Sequence[Region]],
    numbers: Mapping[str, int],
    sizes: Sizes,
    kind: RegionKind,
    left_out: list[int],
) -> Iterator[dict[str, Any]]:
    for image_id, (width, height), region in _each_drawable(run, sizes, kind, left_out):
        record: dict[str, Any] = {"image_id": numbers[image_id], "category_id": region.label + 1}
        if kind == "box":
            record["bbox"] = xywh(region)
        else:
            record["segmentation"] = polygon_rle(region, height, width)
        record["score"] = region.score
        yield record


def _each_drawable(
    by_image: Mapping[str, Sequence[Region]], sizes: Sizes, kind: RegionKind, left_out: list[int]
) -> Iterator[tuple[str, tuple[int, int], Region]]:
    """(image id, its (width, height), region) of every region COCO can hold, image by image in the mapping's
    order; the polygons it cannot (fewer than 3 vertices) are counted in left_out[0]."""
    for image_id in by_image:
        regions = peek_regions(by_image, image_id)
        size = canvas_size(image_id, sizes, regions)
        drawn = _drawable(regions, kind)
        left_out[0] += len(regions) - len(drawn)
        for region in drawn:
            yield image_id, size, region


def _drawable(regions: Sequence[Region], kind: RegionKind) -> Sequence[Region]:
    return regions if kind == "box" else [r for r in regions if drawable(r)]


def _warn_undrawable(count: int, what: str) -> None:
    """Reports the polygons `_drawable` left out: the project's mask mAP leaves them out too (pycocotools
    cannot rasterise a polygon of fewer than 3 vertices; it reads 2 as a box), and coral ground truth
    read for scoring holds some (the organisers' pixel IoU draws them)."""
    if count:
        warnings.warn(
            f"{count} {what} polygon(s) of fewer than 3 vertices left out of the COCO export, as the mask mAP"
            " leaves them out (pycocotools cannot draw them)",
            FormatWarning,
            stacklevel=3,
        )


def coco_dataset(
    truth: Mapping[str, Sequence[Region]], ids: Sequence[str], sizes: Sizes, classes: Sequence[str], kind: RegionKind
) -> dict[str, Any]:
    """A COCO dataset of the ground-truth images (numbered by their position in ids)."""
    numbers = {image_id: number for number, image_id in enumerate(ids, start=1)}
    return {
        "info": _INFO,
        "images": [record for record in image_records(ids, sizes) if record["file_name"] in truth],
        "annotations": annotation_records(truth, numbers, sizes, kind),
        "categories": categories(classes),
    }


_INFO = {"description": "ImageCLEF ground truth exported by imageclef-baselines"}

WRITE_CHUNK = 100_000
"""Records formatted at once by the writers: bounds the text held (a 200 MB run holds about 9M boxes)."""


def write_coco_results(
    handle: TextIO, run: Mapping[str, Sequence[Region]], numbers: Mapping[str, int], sizes: Sizes, kind: RegionKind
) -> int:
    """Writes `json.dumps(coco_results(...))` to handle, the same text, without holding the records: a run
    of boxes kept as arrays (`parse_run`) is written from its arrays. Returns the records written."""
    ids = list(run)
    columns = region_columns(run, ids) if kind == "box" else None
    if columns is None or columns[3].dtype.kind != "i":  # polygons, or float corners (Regions made elsewhere)
        left_out = [0]
        written = _write_list(handle, (json.dumps(r) for r in _result_records(run, numbers, sizes, kind, left_out)))
        _warn_undrawable(left_out[0], "run")
        return written
    image, label, score, corners = columns
    number = np.asarray([numbers[image_id] for image_id in ids], np.int64)[image]

    def texts() -> Iterator[str]:
        for start in range(0, len(corners), WRITE_CHUNK):
            part = slice(start, start + WRITE_CHUNK)
            x, y, w, h = _xywh_columns(corners[part])
            for values in zip(number[part].tolist(), (label[part] + 1).tolist(), x, y, w, h, score[part].tolist(),
                              strict=True):  # fmt: skip
                yield _RESULT.format(*values)

    return _write_list(handle, texts())


def write_coco_dataset(
    handle: TextIO,
    truth: Mapping[str, Sequence[Region]],
    ids: Sequence[str],
    sizes: Sizes,
    classes: Sequence[str],
    kind: RegionKind,
) -> tuple[int, int]:
    """Writes `json.dumps(coco_dataset(...))` to handle, the same text, without holding the annotations: a
    ground truth of boxes kept as arrays is written from its arrays. Returns (images, annotations) written."""
    numbers = {image_id: number for number, image_id in enumerate(ids, start=1)}
    images = [record for record in image_records(ids, sizes) if record["file_name"] in truth]
    handle.write(f'{{"info": {json.dumps(_INFO)}, "images": {json.dumps(images)}, "annotations": ')
    order = list(truth)
    columns = region_columns(truth, order) if kind == "box" else None
    if columns is None or columns[3].dtype.kind != "i":
        left_out = [0]
        texts = (json.dumps(r) for r in _annotation_records(truth, numbers, sizes, kind, left_out))
        written = _write_list(handle, texts)
        _warn_undrawable(left_out[0], "ground-truth")
    else:
        image, label, _, corners = columns
        number = np.asarray([numbers[image_id] for image_id in order], np.int64)[image]

        def box_texts() -> Iterator[str]:
            for start in range(0, len(corners), WRITE_CHUNK):
                part = slice(start, start + WRITE_CHUNK)
                x, y, w, h = _xywh_columns(corners[part])
                area = (np.asarray(w, np.int64) * np.asarray(h, np.int64)).tolist()
                first = start + 1
                for k, values in enumerate(zip(number[part].tolist(), (label[part] + 1).tolist(), x, y, w, h, area,
                                               strict=True)):  # fmt: skip
                    yield _ANNOTATION.format(first + k, *values)

        written = _write_list(handle, box_texts())
    handle.write(f', "categories": {json.dumps(categories(classes))}}}')
    return len(images), written


# json.dumps' text of `_result_records`' and `_annotation_records`' box records (ints, and a float's repr)
_RESULT = '{{"image_id": {}, "category_id": {}, "bbox": [{}, {}, {}, {}], "score": {!r}}}'
_ANNOTATION = '{{"id": {}, "image_id": {}, "iscrowd": 0, "category_id": {}, "bbox": [{}, {}, {}, {}], "area": {}}}'


def _xywh_columns(corners: np.ndarray) -> tuple[list[int], list[int], list[int], list[int]]:
    """COCO's [x, y, width, height] of int corners, as Python ints (`xywh` of the parsed `Region`)."""
    return (
        corners[:, 0].tolist(),
        corners[:, 1].tolist(),
        (corners[:, 2] - corners[:, 0]).tolist(),
        (corners[:, 3] - corners[:, 1]).tolist(),
    )


def _write_list(handle: TextIO, texts: Iterable[str]) -> int:
    """Writes a JSON list of the JSON texts as `json.dumps` writes a list (", " between items)."""
    handle.write("[")
    count = 0
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == WRITE_CHUNK:
            handle.write((", " if count else "") + ", ".join(batch))
            count += len(batch)
            batch = []
    if batch:
        handle.write((", " if count else "") + ", ".join(batch))
        count += len(batch)
    handle.write("]")
    return count


def regions_from_coco(
    records: Sequence[Mapping[str, Any]],
    dataset: Mapping[str, Any],
    classes: Sequence[str],
    kind: RegionKind,
    id_from: IdFrom,
    source: str | Path,
) -> dict[str, list[Region]]:
    """COCO detections or annotations -> official image id -> regions (every dataset image, in order).

    Categories are matched to the task's classes by name; the official image id is the dataset's
    `file_name` (its name, or its stem for tasks whose ids are stems). A segmentation (polygons, or an
    RLE mask such as MMDetection writes) becomes one polygon region per outer contour; boxes come from
    `bbox` (else the segmentation's bounding box). Regions are clipped to the image when its size is known.

    Args:
        records: Results (`image_id`, `category_id`, `score`, `bbox`/`segmentation`) or a dataset's
            `annotations` (score 1 unless given).
        dataset: The COCO dataset that names the images and categories.
        classes: The task's class names.
        kind: "box" or "polygon": what the run file holds.
        id_from: How a file name becomes the official id.
        source: The detections file, named in errors.

    Raises:
        FormatError: Listing every record that cannot be converted (`source:<record number>`).
    """
    problems = ProblemCollector(source)
    class_index = {name: label for label, name in enumerate(classes)}
    category_label: dict[Any, int] = {}
    for category in dataset.get("categories", []):
        name = category.get("name")
        if name not in class_index:
            problems.add(
                None, f"category {category.get('id')} {name!r} is not a class of the task: {', '.join(classes)}"
            )
        else:
            category_label[category.get("id")] = class_index[name]
    images: dict[Any, tuple[str, tuple[int, int] | None]] = {}
    by_image: dict[str, list[Region]] = {}
    for image in dataset.get("images", []):
        file_name = str(image.get("file_name", ""))
        unsafe = _unsafe_characters(file_name)
        if unsafe:
            problems.add(None, f"image {image.get('id')} {file_name!r}: {unsafe}: it cannot be an image id")
            continue
        image_id = id_of(Path(file_name), id_from)
        if not image_id or image.get("id") in images or image_id in by_image:
            problems.add(None, f"image {image.get('id')} {file_name!r}: missing, repeated id or repeated file name")
            continue
        size = (image["width"], image["height"]) if "width" in image and "height" in image else None
        if size is not None and (not all(isinstance(v, int) and v > 0 for v in size) or size[0] * size[1] > _cap()):
            problems.add(
                None,
                f"image {image.get('id')} {file_name!r}: width x height {size[0]!r} x {size[1]!r} must be positive "
                f"integers of at most {_cap():,} pixels (max_image_pixels; raise it with --max-image-pixels)",
            )
            continue
        images[image["id"]] = (image_id, size)
        by_image[image_id] = []
    problems.raise_if_any()
    for number, record in enumerate(records, start=1):
        if record.get("image_id") not in images:
            problems.add(number, f"image_id {record.get('image_id')!r} is not an image of the dataset")
            continue
        if record.get("category_id") not in category_label:
            problems.add(number, f"category_id {record.get('category_id')!r} is not a category of the dataset")
            continue
        score = record.get("score", 1.0)
        if not isinstance(score, int | float) or not math.isfinite(score) or not 0 <= score <= 1:
            problems.add(number, f"score {score!r} must be a number in [0, 1]")
            continue
        image_id, size = images[record["image_id"]]
        label = category_label[record["category_id"]]
        try:
            regions = _record_regions(record, label, float(score), kind, size)
        except (TypeError, ValueError, KeyError) as exc:
            problems.add(number, f"cannot read its geometry ({exc})")
            continue
        if not regions:
            problems.add(number, f"no usable {'bbox' if kind == 'box' else 'segmentation'} (empty or degenerate)")
            continue
        by_image[image_id].extend(regions)
    problems.raise_if_any()
    return by_image


# the grouped grammar's field separator, and a path separator that is not this system's (a Windows name)
_ID_SEPARATORS = (";", "\\")


def _unsafe_characters(file_name: str) -> str | None:
    """Why a COCO file_name cannot name an image of a run file: a control character (a newline would inject a
    run line), a line or paragraph separator, or a separator of the run-file grammar in its name. None if fine."""
    control = sorted({c for c in file_name if unicodedata.category(c) in ("Cc", "Zl", "Zp")})
    if control:
        return f"holds control character(s) {', '.join(repr(c) for c in control)}"
    name = file_name.rsplit("/", 1)[-1]
    separators = [c for c in _ID_SEPARATORS if c in name]
    if separators:
        return f"its name holds {' and '.join(repr(c) for c in separators)}, a run-file or path separator"
    return None


def _record_regions(
    record: Mapping[str, Any], label: int, score: float, kind: RegionKind, size: tuple[int, int] | None
) -> list[Region]:
    segmentation = record.get("segmentation")
    if kind == "box":
        if record.get("bbox") is not None:
            x, y, w, h = (float(v) for v in record["bbox"])
        elif segmentation:
            x, y, w, h = (float(v) for v in mask_utils.toBbox(_as_rle(segmentation, size)))
        else:
            return []
        box = _clip((x, y, x + w, y + h), size)
        return [Region(label, score, box)] if box[2] - box[0] >= 1 and box[3] - box[1] >= 1 else []
    if not segmentation:
        return []
    if isinstance(segmentation, list):
        polygons = [np.asarray(part, np.float64).reshape(-1, 2) for part in segmentation if len(part) >= 6]
    else:
        polygons = [p.astype(np.float64) for p in mask_to_polygons(_decode(_as_rle(segmentation, size)))]
    regions = []
    for polygon in polygons:
        if size is not None:
            polygon = np.clip(polygon, 0, [size[0], size[1]])
        xs, ys = polygon[:, 0], polygon[:, 1]
        regions.append(Region(label, score, (xs.min(), ys.min(), xs.max(), ys.max()), flat(polygon)))
    return regions


def _decode(rle: dict[str, Any]) -> np.ndarray:
    with warnings.catch_warnings():
        # pycocotools 2.0.x under numpy 2 warns about its own __array__ on every decode; the mask is right
        warnings.filterwarnings("ignore", "__array__ implementation doesn't accept a copy", DeprecationWarning)
        return mask_utils.decode(rle)


def _as_rle(segmentation: Any, size: tuple[int, int] | None) -> dict[str, Any]:
    """An RLE of a COCO segmentation (polygons need the image size; compressed or raw RLE as given)."""
    if isinstance(segmentation, dict):
        height, width = (int(v) for v in segmentation["size"])
        # decoding allocates height x width bytes: bounded by the image (an RLE of another size is wrong anyway)
        if size is not None and (width, height) != tuple(size):
            raise ValueError(f"an RLE of {width}x{height} for an image of {size[0]}x{size[1]}")
        if size is None and (width <= 0 or height <= 0 or width * height > _cap()):
            raise ValueError(
                f"an RLE of {width}x{height} = {width * height:,} pixels, more than the cap of {_cap():,} "
                "(max_image_pixels; raise it with --max-image-pixels, or give the images' width and height)"
            )
        if isinstance(segmentation["counts"], list):  # uncompressed RLE
            return mask_utils.frPyObjects(segmentation, height, width)
        return dict(segmentation)
    if size is None:
        raise ValueError("polygons need the image's width and height in the dataset")
    # a vertex far off the image would overflow pycocotools' rasteriser: clipped first (clip_to_canvas)
    parts = [_clipped(part, size) for part in segmentation]
    return mask_utils.merge(mask_utils.frPyObjects(parts, size[1], size[0]))


def _clipped(part: Sequence[float], size: tuple[int, int]) -> list[float]:
    if len(part) < 6 or len(part) % 2:
        return list(part)  # pycocotools' own reading (4 values: a box)
    clipped = clip_to_canvas(unflat(part), size[0], size[1])
    return [0.0] * 6 if len(clipped) < 3 else clipped.reshape(-1).tolist()  # wholly off the image: empty


def _cap() -> int:
    from baselines.io import images

    return images.MAX_IMAGE_PIXELS


def _clip(box: tuple[float, float, float, float], size: tuple[int, int] | None) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (max(0.0, v) for v in box)
    if size is not None:
        x0, x1 = min(x0, size[0]), min(x1, size[0])
        y0, y1 = min(y0, size[1]), min(y1, size[1])
    return x0, y0, x1, y1


def read_coco_json(path: str | Path) -> Any:
    """Reads a JSON file, a clear FormatError when it is not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError([Problem(str(path), getattr(exc, "lineno", None), f"not JSON ({exc})")]) from None
