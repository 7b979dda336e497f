"""`baselines import-coco --task T DETECTIONS.json --dataset DATASET.json -o RUN [--images DIR]`.

Turns COCO detections (a results list, e.g. from MMDetection or detectron2) or a COCO dataset with
annotations (e.g. from a labelling tool; then --dataset is not needed) into a run file of a region
task, validated before it is written. Categories are matched to the task's classes by name, images
by file name (drawnUI ids are file names, coral ids file stems).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from baselines.commands._reference import printed_warnings

HELP = "turn COCO detections (or a COCO dataset's annotations) into a validated run file"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="drawnui, coral_boxes or coral_polygons")
    parser.add_argument("coco_file", help="COCO results list, or a COCO dataset with annotations")
    parser.add_argument("--dataset", default=None, help="the COCO dataset the results refer to (images, categories)")
    parser.add_argument("-o", "--output", required=True, help="the run file to write")
    parser.add_argument("--images", default=None, help="the test image folder: validate ids, sizes and coverage")
    parser.add_argument("--min-score", type=float, default=0.0, help="leave out detections below this confidence")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    parser.add_argument(
        "--max-image-pixels",
        type=int,
        default=None,
        help="the cap on an image's (and an RLE mask's) width x height (default: max_image_pixels, configs/train.yaml)",
    )


def run(args: argparse.Namespace) -> int:
    import tempfile

    from baselines.errors import FormatError, Problem
    from baselines.io.atomic import atomic_write_text
    from baselines.io.coco import read_coco_json, regions_from_coco
    from baselines.io.grouped import format_grouped_lines
    from baselines.io.images import set_max_image_pixels
    from baselines.tasks import get_task
    from baselines.tasks.regions import RegionSpec

    if args.max_image_pixels is not None:
        set_max_image_pixels(args.max_image_pixels)
    spec = get_task(args.task)
    if not isinstance(spec, RegionSpec):
        raise ValueError(f"import-coco imports region tasks (drawnui, coral_boxes, coral_polygons), not {spec.name}")
    output = Path(args.output)
    if output.exists() and not args.overwrite:
        raise FileExistsError(f"{output} exists; pass --overwrite to replace it")
    data = read_coco_json(args.coco_file)
    if isinstance(data, list):
        if args.dataset is None:
            raise ValueError(f"{args.coco_file} is a COCO results list: give --dataset (its images and categories)")
        dataset, records = read_coco_json(args.dataset), data
    elif isinstance(data, dict) and isinstance(data.get("annotations"), list):
        if args.dataset is not None:
            raise ValueError(f"{args.coco_file} is a COCO dataset with its own images: drop --dataset")
        dataset, records = data, data["annotations"]
    else:
        raise FormatError([Problem(args.coco_file, None, "expected a COCO results list or a dataset with annotations")])
    if not isinstance(dataset, dict) or not isinstance(dataset.get("images"), list):
        raise FormatError(
            [Problem(args.dataset or args.coco_file, None, "a COCO dataset needs 'images' and 'categories'")]
        )
    if not all(isinstance(record, dict) for record in records):
        raise FormatError([Problem(args.coco_file, None, "every detection must be a JSON object")])
    regions = regions_from_coco(records, dataset, spec.classes, spec.geometry, spec.id_from, args.coco_file)
    kept = {image_id: [r for r in found if r.score >= args.min_score] for image_id, found in regions.items()}
    text = format_grouped_lines(kept, spec.classes, spec.geometry)
    with printed_warnings():
        reference = spec.load_reference(None, args.images) if args.images else None
        with tempfile.TemporaryDirectory() as folder:  # validated before the real file exists
            draft = Path(folder) / output.name
            draft.write_text(text, encoding="utf-8")
            try:
                spec.parse_run(draft, reference)
            except FormatError as exc:
                named = [Problem(f"{output} (not written)", p.line, p.message) for p in exc.problems]
                raise FormatError(named, exc.truncated) from None
    atomic_write_text(output, text, overwrite=True)
    print(f"{output}: {len(kept)} images, {sum(len(v) for v in kept.values())} regions")
    return 0
