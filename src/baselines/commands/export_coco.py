"""`baselines export-coco --task T RUN --images DIR -o results.json` (a run as COCO results) and
`baselines export-coco --task T --ground-truth GT --images DIR -o dataset.json` (ground truth as a
COCO dataset), for the region tasks (drawnui, coral_boxes, coral_polygons).

Image ids number the images of DIR in sorted order, so a run and a ground truth exported with the same
--images pair up; categories are the task's classes, id = class index + 1. Polygons are COCO polygons
in the dataset and RLE masks in the results (COCO's results format).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from baselines.commands._reference import printed_warnings

HELP = "write a region run as COCO results JSON, or (--ground-truth) its ground truth as a COCO dataset"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="drawnui, coral_boxes or coral_polygons")
    parser.add_argument("run_file", nargs="?", default=None, help="the run file (omit with --ground-truth)")
    parser.add_argument(
        "--ground-truth", "--gt", dest="ground_truth", default=None, help="export this ground truth as a COCO dataset"
    )
    parser.add_argument("--images", required=True, help="the test image folder: image ids and sizes")
    parser.add_argument("-o", "--output", required=True, help="the JSON file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")


def run(args: argparse.Namespace) -> int:
    from baselines.io.atomic import atomic_path
    from baselines.io.coco import write_coco_dataset, write_coco_results
    from baselines.paths import child_path
    from baselines.tasks import get_task
    from baselines.tasks.regions import RegionSpec

    spec = get_task(args.task)
    if not isinstance(spec, RegionSpec):
        raise ValueError(f"export-coco exports region tasks (drawnui, coral_boxes, coral_polygons), not {spec.name}")
    if (args.run_file is None) == (args.ground_truth is None):
        raise ValueError("give either a run file (COCO results) or --ground-truth (a COCO dataset), not both")
    output = Path(args.output)
    if output.exists() and not args.overwrite:
        raise FileExistsError(f"{output} exists; pass --overwrite to replace it")
    with printed_warnings():
        reference = spec.load_reference(args.ground_truth, args.images)
        ids = list(reference.sizes)  # the image folder, sorted: the COCO image ids
        for image_id in ids:  # file_name fields name files in the image folder: never outside it
            child_path(args.images, image_id, args.ground_truth or args.run_file)
        parsed = spec.parse_run(args.run_file, reference) if args.run_file is not None else None
        # written as it is made, from the arrays the run (and a box ground truth) is parsed into: a run of
        # millions of boxes never becomes millions of dicts nor one string
        with atomic_path(output) as temporary, temporary.open("w", encoding="utf-8", newline="") as handle:
            if parsed is not None:
                numbers = {image_id: number for number, image_id in enumerate(ids, start=1)}
                what = f"{write_coco_results(handle, parsed, numbers, reference.sizes, spec.geometry)} detections"
            else:
                truth = reference.ground_truth
                assert truth is not None
                _, written = write_coco_dataset(handle, truth, ids, reference.sizes, spec.classes, spec.geometry)
                what = f"{len(truth)} images, {written} annotations"
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
    print(f"{output}: {what}")
    return 0
