"""Time of `baselines compare`'s bootstrap (`compare_runs`) on synthetic runs: scored from per-item arrays
(`TaskSpec.resampling`) against rescoring each resample (`restrict` + `score`, the way before).

    python scripts/bench_compare.py [--resamples 1000] [--old-resamples 3] [--images 1000] [--lines 10000]
        [--cts 1000] [--tasks drawnui coral_boxes vqa concepts caption tbct]

Goals (issue 29): 1,000 resamples of two runs on 1,000 drawnUI images in <= 30 s; of 10,000 VQA lines in
<= 10 s. The runs are synthetic and parsed objects are built in memory (reading the run files is not
timed): drawnUI images with 15 ground-truth boxes and 85 detections each (21 classes, confidences on a
0.001 grid, so they tie across images; coral_boxes: the same images with 13 classes, scored at two IoU
thresholds, 0.5 and any overlap), VQA answers drawn from a small vocabulary, concept sets of 1-5
CUIs, captions of 3-15 words from a 200-word vocabulary, tbct probabilities on a 0.01 grid (tying across
CTs) for labels of 3-50 % prevalence. The old way is timed on `--old-resamples` resamples and given per
resample; both ways are checked to give the same scores on those resamples. `load` is the highest 1-minute
load average seen at the start and end of the timed compare; `of which per-item arrays` times
`resampling` alone (for a region task, COCOeval's matching of each run), the rest being the resamples.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from baselines.evaluation.bootstrap import compare_runs
from baselines.tasks import get_task
from baselines.tasks.medcaption import CaptionReference
from baselines.tasks.tuberculosis import CTReference
from baselines.tasks.vqamed import VQAReference
from baselines.types import ImageSet, Region

WORDS = ["yes", "no", "pulmonary embolism", "meningioma", "renal cell carcinoma", "osteosarcoma", "a fracture"]


class Rescored:
    """A task whose resamples are rescored one by one (`resampling` None): the bootstrap before arrays."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.name = spec.name

    def scored_items(self, reference: Any) -> list[str]:
        return self.spec.scored_items(reference)

    def score(self, run: Any, reference: Any) -> dict[str, float]:
        return self.spec.score(run, reference)

    def restrict(self, run: Any, reference: Any, ids: Sequence[str]) -> tuple[Any, Any]:
        return self.spec.restrict(run, reference, ids)

    def resampling(self, run: Any, reference: Any, items: Sequence[str]) -> None:
        return None


def drawnui(images: int, seed: int = 0, classes: int = 21) -> tuple[list[dict[str, list[Region]]], ImageSet]:
    rng = np.random.default_rng(seed)

    def box(label: int, score: float, x: float, y: float) -> Region:
        return Region(label, score, (x, y, x + 40.0, y + 30.0))

    truth: dict[str, list[Region]] = {}
    runs: list[dict[str, list[Region]]] = [{}, {}]
    for i in range(images):
        image = f"{i:06d}.jpg"
        places = rng.integers(0, 900, (15, 2)).astype(float)
        labels = rng.integers(0, classes, 15)
        truth[image] = [box(int(c), 1.0, *p) for c, p in zip(labels, places, strict=True)]
        for r, run in enumerate(runs):
            kept = 13 - 3 * r  # the second run finds fewer
            near = places[:kept] + rng.integers(-8, 9, (kept, 2))
            found = [box(int(labels[j]), round(float(rng.random()), 3), *p) for j, p in enumerate(near)]
            noise = [box(int(rng.integers(0, classes)), round(float(rng.random()) * 0.6, 3), *rng.integers(0, 900, 2))
                     for _ in range(85 - len(found))]  # fmt: skip
            run[image] = found + noise
    return runs, ImageSet(dict.fromkeys(truth, (1000, 1000)), truth)


def vqa(lines: int, seed: int = 0) -> tuple[list[dict[str, str]], VQAReference]:
    rng = np.random.default_rng(seed)
    truth = {f"synpic{i}": [WORDS[int(rng.integers(0, len(WORDS)))]] for i in range(lines)}
    runs = [{q: a[0] if rng.random() < p else WORDS[int(rng.integers(0, len(WORDS)))] for q, a in truth.items()}
            for p in (0.5, 0.6)]  # fmt: skip
    return runs, VQAReference(list(truth), truth)


def concepts(lines: int, seed: int = 0) -> tuple[list[dict[str, list[str]]], CaptionReference]:
    rng = np.random.default_rng(seed)

    def cuis(k: int) -> list[str]:
        return [f"C{int(v):07d}" for v in rng.integers(0, 50, k)]

    truth = {f"ROCO_{i:06d}": cuis(int(rng.integers(1, 6))) for i in range(lines)}
    runs = [{i: [*c[: int(rng.integers(0, len(c) + 1))], *cuis(k)] for i, c in truth.items()} for k in (1, 2)]
    return runs, CaptionReference(set(truth), truth)


def caption(lines: int, seed: int = 0) -> tuple[list[dict[str, str]], CaptionReference]:
    rng = np.random.default_rng(seed)
    vocabulary = [f"w{k}" for k in range(200)]

    def text() -> str:
        return " ".join(rng.choice(vocabulary, int(rng.integers(3, 16))))

    truth = {f"ROCO_{i:06d}": text() for i in range(lines)}
    runs = [{i: c if rng.random() < p else text() for i, c in truth.items()} for p in (0.2, 0.3)]
    return runs, CaptionReference(set(truth), truth)


def tbct(cts: int, seed: int = 0) -> tuple[list[dict[str, np.ndarray]], CTReference]:
    rng = np.random.default_rng(seed)
    prevalence = np.array([0.5, 0.5, 0.2, 0.2, 0.05, 0.03])
    truth = {f"CTR_TST_{i:04d}.nii.gz": (rng.random(6) < prevalence).astype(float) for i in range(cts)}
    runs = [{ct: np.clip(np.round(y * skill + rng.random(6) * (1 - skill), 2), 0, 1) for ct, y in truth.items()}
            for skill in (0.2, 0.3)]  # fmt: skip
    return runs, CTReference(set(truth), truth)


def bench(task: str, runs: list[Any], reference: Any, resamples: int, old_resamples: int) -> dict[str, Any]:
    spec = get_task(task)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    new = compare_runs(spec, runs, reference, resamples=resamples, seed=0)
    new_seconds = time.perf_counter() - start
    load = max(load, os.getloadavg()[0])
    # what compare_runs spends on the per-item arrays (a region task's matching), the rest being resamples
    start = time.perf_counter()
    for run in runs:
        spec.resampling(run, reference, spec.scored_items(reference))
    prepared = time.perf_counter() - start
    start = time.perf_counter()
    old = compare_runs(Rescored(spec), runs, reference, resamples=old_resamples, seed=0)
    old_seconds = time.perf_counter() - start
    check = compare_runs(spec, runs, reference, resamples=old_resamples, seed=0)
    if check != old:
        raise SystemExit(f"{task}: the two ways disagree on {old_resamples} resamples")
    per_resample = old_seconds / old_resamples
    return {
        "task": task,
        "items": new["items"],
        "new": new_seconds,
        "prepared": prepared,
        "load": load,
        "old_per_resample": per_resample,
        "old_estimate": per_resample * resamples,
        "primary": new["runs"][1]["scores"][spec.primary_metric],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--old-resamples", type=int, default=3)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--cts", type=int, default=1000)
    parser.add_argument("--tasks", nargs="+", default=["drawnui", "coral_boxes", "vqa", "concepts", "caption", "tbct"])
    args = parser.parse_args()
    cases = {
        "drawnui": lambda: drawnui(args.images),
        "coral_boxes": lambda: drawnui(args.images, classes=13),
        "vqa": lambda: vqa(args.lines),
        "concepts": lambda: concepts(args.lines),
        "caption": lambda: caption(args.lines),
        "tbct": lambda: tbct(args.cts),
    }
    rows = [bench(task, *cases[task](), args.resamples, args.old_resamples) for task in args.tasks]
    print(f"| task, items, 2 runs | load | {args.resamples} resamples from arrays | of which per-item arrays | "
          f"before: per resample | before: {args.resamples} resamples (estimated) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['task']}, {row['items']:,} | {row['load']:.1f} | {row['new']:.1f} s | {row['prepared']:.1f} s "
              f"| {row['old_per_resample']:.2f} s | {row['old_estimate'] / 60:.0f} min |")  # fmt: skip


if __name__ == "__main__":
    main()
