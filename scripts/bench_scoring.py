"""Whole-process time and peak memory of `baselines evaluate` on a large synthetic drawnUI run, against
pycocotools scoring the same run exported to COCO JSON, and of exporting the run as `export-coco` does.

    python scripts/bench_scoring.py [--megabytes 50] [--main /work/main/src] [--no-export]

Goal (issue 29): on a 200 MB drawnUI run, `evaluate` <= 4 GB peak and no slower than pycocotools on
the exported JSON. The files are synthetic, in the official grouped format: 21 classes, about 15
ground-truth boxes and 85 detections (most near a ground-truth box, confidences on a 0.001 grid) per
image. The COCO JSON is what `baselines export-coco` writes (`io.coco.coco_dataset` /
`coco_results`), written here without the image folder export-coco reads sizes from; its writing is not
timed. pycocotools runs as the official evaluators run it: `COCO(gt)`, `loadRes(results)`, `COCOeval`
with the project's parameters (IoU 0.5, one area range, 100 detections), `evaluate`, `accumulate`.
`--main` also times `evaluate` with another checkout's code (e.g. main, before this change). The
export row runs what `export-coco` runs after reading the image sizes (ground truth, `parse_run`, the
results JSON written), with this checkout's code and `--main`'s. Each row prints the load average
(1 minute) seen when it started: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from baselines.io.formats.drawnui import DRAWNUI_CLASSES

PYCOCOTOOLS = """
import json, sys
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
truth = COCO(sys.argv[1])
detections = truth.loadRes(sys.argv[2])
evaluator = COCOeval(truth, detections, "bbox")
evaluator.params.iouThrs = np.array([0.5])
evaluator.params.areaRng = [[0, 1e10]]
evaluator.params.areaRngLbl = ["all"]
evaluator.params.maxDets = [100]
evaluator.evaluate()
evaluator.accumulate()
precision = evaluator.eval["precision"][0, :, :, 0, 0]
print(json.dumps({"map_50": float(precision[precision > -1].mean())}))
"""


EXPORT = """
import json, sys
from baselines.tasks import get_task
spec = get_task("drawnui")
reference = spec.load_reference(sys.argv[1], None)
ids = list(reference.ground_truth)
numbers = {image_id: number for number, image_id in enumerate(ids, start=1)}
run = spec.parse_run(sys.argv[2], reference)
try:
    from baselines.io.coco import write_coco_results
except ImportError:  # a checkout from before the streamed export (and before runfiles.coco moved to io)
    from baselines.runfiles.coco import coco_results
    with open(sys.argv[3], "w") as handle:
        handle.write(json.dumps(coco_results(run, numbers, {}, "box")) + "\\n")
else:
    with open(sys.argv[3], "w") as handle:
        write_coco_results(handle, run, numbers, {}, "box")
        handle.write("\\n")
print(json.dumps({"map_50": None}))
"""


def write_files(folder: Path, megabytes: float, seed: int = 0) -> tuple[Path, Path, int, int]:
    """A ground truth and a run of about `megabytes` MB; returns their paths, images and run boxes."""
    rng = random.Random(seed)
    truth_path, run_path = folder / "gt.txt", folder / "run.txt"
    target = int(megabytes * 1_000_000)
    written = images = boxes = 0
    with truth_path.open("w") as truth, run_path.open("w") as run:
        while written < target:
            image = f"{images:016x}.jpg"
            places = [(rng.choice(DRAWNUI_CLASSES), rng.randrange(900), rng.randrange(1400)) for _ in range(15)]
            groups: dict[str, list[str]] = {}
            for name, x, y in places:
                groups.setdefault(name, []).append(f"1:80x40+{x}+{y}")
            truth.write(image + ";" + ";".join(f"{n} {','.join(r)}" for n, r in groups.items()) + "\n")
            found: dict[str, list[str]] = {}
            for name, x, y in places[:12]:
                found.setdefault(name, []).append(f"0.{rng.randrange(1000):03d}:80x40+{x + rng.randrange(8)}+{y}")
            for _ in range(73):
                name = rng.choice(DRAWNUI_CLASSES)
                box = f"0.{rng.randrange(600):03d}:{rng.randrange(10, 300)}x{rng.randrange(10, 90)}"
                found.setdefault(name, []).append(f"{box}+{rng.randrange(900)}+{rng.randrange(1400)}")
            line = image + ";" + ";".join(f"{n} {','.join(r)}" for n, r in found.items()) + "\n"
            run.write(line)
            written += len(line)
            images += 1
            boxes += 85
    return truth_path, run_path, images, boxes


def export_coco(folder: Path, truth_path: Path, run_path: Path) -> tuple[Path, Path]:
    """The COCO pair `baselines export-coco` writes for these files (its functions, without --images)."""
    from baselines.io.coco import write_coco_dataset, write_coco_results
    from baselines.tasks import get_task

    spec = get_task("drawnui")
    reference = spec.load_reference(truth_path, None)
    truth = reference.ground_truth or {}
    ids = list(truth)
    with (folder / "gt.json").open("w") as handle:
        write_coco_dataset(handle, truth, ids, {}, spec.classes, "box")
    numbers = {image_id: number for number, image_id in enumerate(ids, start=1)}
    with (folder / "run.json").open("w") as handle:
        write_coco_results(handle, spec.parse_run(run_path, reference), numbers, {}, "box")
    return folder / "gt.json", folder / "run.json"


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """The load average when it starts, seconds, peak resident MB (GNU time's %M) and the standard output
    of one process."""
    load = os.getloadavg()[0]
    timed = ["/usr/bin/time", "-f", "%e %M", *command]
    result = subprocess.run(timed, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    seconds, kilobytes = result.stderr.strip().splitlines()[-1].split()
    return load, float(seconds), int(kilobytes) / 1024, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=50)
    parser.add_argument("--main", default=None, help="src folder of another checkout to time `evaluate` with")
    parser.add_argument("--no-export", action="store_true", help="leave out the export rows")
    parser.add_argument(
        "--no-pycocotools", action="store_true", help="leave out pycocotools (13 GB at 200 MB: mind a shared machine)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth_path, run_path, images, boxes = write_files(folder, args.megabytes)
        evaluate = [sys.executable, "-m", "baselines.cli", "evaluate", "--task", "drawnui", str(run_path)]
        evaluate += ["--gt", str(truth_path), "--json"]
        rows = [("`baselines evaluate` (this checkout)", *measure(evaluate))]
        if args.main:
            env = {**os.environ, "PYTHONPATH": args.main}
            rows.append((f"`baselines evaluate` ({args.main})", *measure(evaluate, env)))
        json_size = 0.0
        if not args.no_pycocotools:
            truth_json, run_json = export_coco(folder, truth_path, run_path)
            json_size = run_json.stat().st_size / 1e6
            rows.append(("pycocotools on the exported JSON", *measure([sys.executable, "-c", PYCOCOTOOLS,
                                                                        str(truth_json), str(run_json)])))  # fmt: skip
        if not args.no_export:
            export = [sys.executable, "-c", EXPORT, str(truth_path), str(run_path), str(folder / "export.json")]
            rows.append(("export of the run as COCO results (this checkout)", *measure(export)))
            if args.main:
                env = {**os.environ, "PYTHONPATH": args.main}
                rows.append((f"export of the run as COCO results ({args.main})", *measure(export, env)))
        size = run_path.stat().st_size / 1e6
        print(f"run: {size:.0f} MB, {images:,} images, {boxes:,} boxes; exported results JSON {json_size:.0f} MB")
        print("| scorer | load | seconds | peak MB | map_50 |")
        print("| --- | ---: | ---: | ---: | --- |")
        for name, load, seconds, megabytes, output in rows:
            text = output if output.lstrip().startswith("{") else output.strip().splitlines()[-1]  # after progress
            value = json.loads(text)["map_50"]
            print(f"| {name} | {load:.1f} | {seconds:.1f} | {megabytes:,.0f} | {'' if value is None else value} |")


if __name__ == "__main__":
    main()
