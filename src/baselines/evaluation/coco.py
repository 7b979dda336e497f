"""COCO-style average precision at one IoU threshold, computed by pycocotools itself.

Both the box tasks (drawnUI, coral subtask 1) and the polygon task (coral subtask 2) are scored
here, so their numbers are the ones `pycocotools.cocoeval.COCOeval` prints for the same files
(101-point interpolated precision, the mean over the classes that have ground truth, at most
`MAX_DETECTIONS` detections per image and class, COCO's default). The organisers' mAP code is not
public; COCOeval with its default parameters is the reference (tests/conformance/drawnui).

`region_average_precision` builds the COCO records of a region run once for the box mAP, the mask mAP
and the PR curves of `evaluate --plots`; `region_iou` is the IoU of the greedy matchers (precision and
recall, the confusion matrix). Regions are scored with the geometry the run and ground-truth files hold
(`baselines.io.formats.coral.read_coral_annotations`, `io.grouped`), as COCOeval sees it.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from baselines.evaluation.box_matches import Boxes, match_boxes
from baselines.evaluation.matches import (
    CHUNK_IMAGES,
    IouType,
    Records,
    RegionMatches,
    accumulate,
    match_regions,
    mean_precision,
    mean_recall,
    recall_points,
)
from baselines.io.polygons import Sizes, canvas_size, drawable, polygon_rle, xywh
from baselines.types import Region, RegionKind, peek_regions, region_columns

MAX_DETECTIONS = 100
"""COCOeval's default `maxDets` (the last of [1, 10, 100]): detections kept per image and class, the
most confident first. No released coral or drawnUI image comes near it in ground truth (coral
training: at most 66 substrates of one class in an image, 96 in all; docs/evaluation.md)."""


def coco_average_precision(
    images: Sequence[dict[str, Any]],
    annotations: Sequence[dict[str, Any]],
    results: Sequence[dict[str, Any]],
    iou_type: IouType,
    iou_threshold: float,
    max_detections: int = MAX_DETECTIONS,
) -> dict[str, Any]:
    """Runs COCOeval on in-memory COCO records.

    Args:
        images: COCO `images` entries (`id`, `width`, `height`).
        annotations: Ground-truth COCO annotations (category ids are the task's labels + 1).
        results: Detections in COCO results format (`image_id`, `category_id`, `score`, `bbox`/`segmentation`).
        iou_type: "bbox" or "segm".
        iou_threshold: The one IoU threshold.
        max_detections: Detections kept per image and class (COCO keeps the highest-scoring ones).

    Returns:
        `map` (mean AP over classes with ground truth; 0 without ground truth or detections),
        `recall` (mean over those classes), `per_class` {label: AP} and `curves` {label: interpolated
        precision at the recall points of `recall_points`} (the curves COCOeval averages; empty
        without ground truth or detections).
    """
    if not annotations or not results:
        labels = sorted({a["category_id"] - 1 for a in annotations})
        return {"map": 0.0, "recall": 0.0, "per_class": dict.fromkeys(labels, 0.0), "curves": {}, "recall_points": []}
    categories = sorted({a["category_id"] for a in annotations} | {r["category_id"] for r in results})
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress and timings
        truth = COCO()
        truth.dataset = {
            "images": list(images),
            "annotations": list(annotations),
            "categories": [{"id": c} for c in categories],
        }
        truth.createIndex()
        detections = truth.loadRes(list(results))
        evaluator = COCOeval(truth, detections, iou_type)
        evaluator.params.iouThrs = np.array([iou_threshold])
        evaluator.params.areaRng = [[0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.params.maxDets = [max_detections]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][0, :, :, 0, 0]  # recall points x categories
    recall = evaluator.eval["recall"][0, :, 0, 0]
    per_class = {
        category - 1: float(precision[:, k].mean())
        for k, category in enumerate(evaluator.params.catIds)
        if np.all(precision[:, k] > -1)
    }
    valid = precision > -1
    return {
        "map": float(precision[valid].mean()) if valid.any() else 0.0,
        "recall": float(recall[recall > -1].mean()) if np.any(recall > -1) else 0.0,
        "per_class": per_class,
        "curves": {label: precision[:, k].copy() for k, label in enumerate(c - 1 for c in evaluator.params.catIds)},
        "recall_points": evaluator.params.recThrs.copy(),
    }


def region_average_precision(
    run: Mapping[str, Sequence[Region]],
    truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    kind: RegionKind,
    iou_threshold: float,
    max_detections: int = MAX_DETECTIONS,
) -> dict[str, Any]:
    """COCOeval on a region run: the scores behind every region task's mAP and its PR curves.

    The images are those of truth, in its order, as COCOeval's image list: an image with no region in
    truth (`RegionSpec` adds every reference image without a ground-truth line) has no ground truth, so
    its detections are false positives; a truth image without a prediction has no detections;
    predictions for images outside truth are ignored (the validator rejects them earlier, as COCOeval's
    `loadRes` does). How regions become COCO records: `region_records`.

    Returns:
        `coco_average_precision`'s result.
    """
    return average_precision_result(region_matches(run, truth, sizes, kind, [iou_threshold], max_detections))


def region_matches(
    run: Mapping[str, Sequence[Region]],
    truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    kind: RegionKind,
    thresholds: Sequence[float],
    max_detections: int = MAX_DETECTIONS,
) -> RegionMatches:
    """COCOeval's matches of a region run at some IoU thresholds, over the images of truth in its order
    (`region_average_precision`): boxes by COCOeval's matching on arrays (`evaluation.box_matches`, no
    COCO record made), polygons by COCOeval itself `CHUNK_IMAGES` images at a time."""
    if kind == "box":
        ids = list(truth)
        return match_boxes(_boxes(truth, ids), _boxes(run, ids), len(ids), thresholds, max_detections)
    return match_regions(region_records(run, truth, sizes, kind), len(truth), "segm", thresholds, max_detections)


def _boxes(regions: Mapping[str, Sequence[Region]], ids: Sequence[str]) -> Boxes:
    """The boxes of ids' images (positions in ids), read as arrays from a run kept as arrays (`parse_run`)."""
    return Boxes.from_corners(*region_columns(regions, ids))


def region_records(
    run: Mapping[str, Sequence[Region]],
    truth: Mapping[str, Sequence[Region]],
    sizes: Sizes,
    kind: RegionKind,
    chunk: int = CHUNK_IMAGES,
) -> Iterator[Records]:
    """The COCO records of truth's images, `chunk` images at a time (numbered from 1 within each chunk).

    Geometry is taken as read: a box of zero width or height is a region of no area that matches
    nothing, a negative coordinate stays. Boxes are compared as `bbox`; polygons as RLE masks on one
    canvas per image for truth and run alike (`canvas_size`: RLEs compared must have one size). A
    polygon of 3 or more vertices is drawn as pycocotools draws it, one without area (`has_area`) as an
    empty mask (a ground truth nothing matches, a false positive); one of 1 or 2 vertices is left out on
    both sides (`drawable`: pycocotools cannot draw it).
    """
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for image_id, regions in truth.items():
        number = len(images) + 1
        # a run kept as arrays (`parse_run`) is read an image at a time, never held as Regions
        predictions = peek_regions(run, image_id)
        if kind == "box":
            images.append({"id": number})
            for region in regions:
                box = xywh(region)
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": number,
                        "category_id": region.label + 1,
                        "bbox": box,
                        "area": box[2] * box[3],
                        "iscrowd": 0,
                    }
                )
            results.extend(
                {"image_id": number, "category_id": r.label + 1, "bbox": xywh(r), "score": r.score} for r in predictions
            )
        else:
            width, height = canvas_size(image_id, sizes, [*regions, *predictions])
            images.append({"id": number, "width": width, "height": height})
            for region in _drawable(regions):
                rle = polygon_rle(region, height, width)
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": number,
                        "category_id": region.label + 1,
                        "segmentation": rle,
                        "area": float(mask_utils.area(rle)),
                        "bbox": list(mask_utils.toBbox(rle)),
                        "iscrowd": 0,
                    }
                )
            results.extend(
                {
                    "image_id": number,
                    "category_id": region.label + 1,
                    "segmentation": polygon_rle(region, height, width),
                    "score": region.score,
                }
                for region in _drawable(predictions)
            )
        if len(images) == chunk:
            yield images, annotations, results
            images, annotations, results = [], [], []
    if images:
        yield images, annotations, results


def average_precision_result(
    matches: RegionMatches, order: np.ndarray | None = None, threshold: int = 0
) -> dict[str, Any]:
    """`coco_average_precision`'s result from matches, over the images order (default all) at one of
    their thresholds."""
    annotations = matches.annotations if order is None else matches.annotations[order]
    results = matches.results if order is None else matches.results[order]
    if not annotations.any() or not results.any():
        labels = matches.annotated if order is None else _annotated(matches, order)
        return {"map": 0.0, "recall": 0.0, "per_class": dict.fromkeys(labels, 0.0), "curves": {}, "recall_points": []}
    precision, recall = accumulate(matches, order)
    precision, recall = precision[threshold], recall[threshold]
    labels = [int(label) for label in matches.labels]
    with_truth = [k for k in range(len(labels)) if np.all(precision[:, k] > -1)]
    return {
        "map": mean_precision(precision),
        "recall": mean_recall(recall),
        "per_class": {labels[k]: float(precision[:, k].mean()) for k in with_truth},
        "curves": {label: precision[:, k].copy() for k, label in enumerate(labels)},
        "recall_points": recall_points(),
    }


def _annotated(matches: RegionMatches, order: np.ndarray) -> list[int]:
    return [int(label) for k, label in enumerate(matches.labels) if matches.truths[k, order].any()]


def region_iou(
    predictions: Sequence[Region],
    truths: Sequence[Region],
    kind: RegionKind,
    canvas: tuple[int, int] | None = None,
) -> np.ndarray:
    """IoU of every prediction (rows) with every truth (columns), as COCOeval computes it (no crowd).

    Args:
        kind: "box" compares boxes; "polygon" compares polygons as masks on the canvas, where a polygon
            of 1 or 2 vertices (left out of the mAP) has IoU 0 with every region, and so has one without
            area (an empty mask).
        canvas: The image's (width, height); needed for polygons.
    """
    geometry: Callable[[Region], Any]
    if kind == "box":
        rows, columns = list(range(len(predictions))), list(range(len(truths)))
        geometry = xywh
    else:
        if canvas is None:
            raise ValueError("polygon IoU needs the image's (width, height)")
        width, height = canvas
        rows = [i for i, region in enumerate(predictions) if drawable(region)]
        columns = [j for j, region in enumerate(truths) if drawable(region)]
        geometry = functools.partial(polygon_rle, height=height, width=width)
    values = np.zeros((len(predictions), len(truths)))
    if rows and columns:
        iou = mask_utils.iou(
            [geometry(predictions[i]) for i in rows], [geometry(truths[j]) for j in columns], [0] * len(columns)
        )
        values[np.ix_(rows, columns)] = np.asarray(iou, np.float64).reshape(len(rows), len(columns))
    return values


def _drawable(regions: Sequence[Region]) -> list[Region]:
    return [region for region in regions if drawable(region)]
