"""Whole-process time and peak memory of `baselines validate` on large run files (the validators stream).

    python scripts/bench_validate.py [--concept-lines 1000000] [--drawnui-mb 200]

Goals (issue "Faults and hostile inputs"): 1M concept lines in <= 15 s and <= 600 MB peak; a 200 MB
drawnUI run in <= 1.5 GB peak. The files are synthetic, written in the official formats; the concept
run is checked against its test set (`--images`-style id list = a ground truth file of the same ids).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

CLASSES = ("paragraph", "button", "label", "image", "textinput", "header", "link", "container")


def concept_files(folder: Path, lines: int) -> tuple[Path, Path]:
    rng = random.Random(0)
    run, truth = folder / "concepts_run.txt", folder / "concepts_gt.txt"
    with run.open("w") as r, truth.open("w") as g:
        for i in range(lines):
            concepts = ";".join(f"C{rng.randrange(10**7):07d}" for _ in range(rng.randrange(1, 6)))
            r.write(f"ROCO_CLEF_{i:07d}\t{concepts}\n")
            g.write(f"ROCO_CLEF_{i:07d}\tC0000001\n")
    return run, truth


def drawnui_run(folder: Path, megabytes: int) -> Path:
    rng = random.Random(0)
    run = folder / "drawnui_run.txt"
    target = megabytes * 1_000_000
    written = i = 0
    with run.open("w") as handle:
        while written < target:
            groups = []
            for name in rng.sample(CLASSES, 5):
                regions = ",".join(
                    f"0.{rng.randrange(1000):03d}:{rng.randrange(10, 400)}x{rng.randrange(10, 200)}+"
                    f"{rng.randrange(1000)}+{rng.randrange(1500)}"
                    for _ in range(rng.randrange(5, 30))
                )
                groups.append(f"{name} {regions}")
            line = f"{i:016x}.jpg;" + ";".join(groups) + "\n"
            handle.write(line)
            written += len(line)
            i += 1
    return run


def measure(command: list[str]) -> tuple[float, float]:
    """Seconds and peak resident MB of one process (GNU time's %M)."""
    timed = ["/usr/bin/time", "-f", "%e %M", *command]
    result = subprocess.run(timed, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    seconds, kilobytes = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(kilobytes) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concept-lines", type=int, default=1_000_000)
    parser.add_argument("--drawnui-mb", type=int, default=200)
    args = parser.parse_args()
    baselines = str(Path(sys.executable).with_name("baselines"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run, truth = concept_files(folder, args.concept_lines)
        size = run.stat().st_size / 1e6
        seconds, peak = measure([baselines, "validate", "--task", "concepts", str(run)])
        rows.append((f"concepts, {args.concept_lines:,} lines ({size:.0f} MB), grammar", seconds, peak))
        seconds, peak = measure([baselines, "validate", "--task", "concepts", str(run), "--gt", str(truth)])
        against = f"concepts, {args.concept_lines:,} lines, against a {args.concept_lines:,}-image test set"
        rows.append((against, seconds, peak))
        drawn = drawnui_run(folder, args.drawnui_mb)
        seconds, peak = measure([baselines, "validate", "--task", "drawnui", str(drawn)])
        rows.append((f"drawnUI, {drawn.stat().st_size / 1e6:.0f} MB run, grammar", seconds, peak))
    print("| run file | seconds | peak MB |")
    print("| --- | ---: | ---: |")
    for name, seconds, peak in rows:
        print(f"| {name} | {seconds:.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
