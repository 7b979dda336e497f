"""Whole-process start-up and run time of `baselines validate` / `evaluate` against the official VQA-Med
2020 evaluator on the same 500 answers, and of `baselines train --help` and of config errors reported before
torch loads (goal: under 2 s each).

    python scripts/bench_cli.py [--repeat 5]
    python scripts/bench_cli.py --official /path/to/Evaluator-VQA-Med-2020.py --official-python /path/to/python3.8

The official script (abachaa/VQA-Med-2020) is not part of this repository: give its path and a Python that
runs it (3.8 with nltk 3.2.5 and NLTK's stopwords/punkt data, see docs/evaluation.md). It is driven through
its evaluator class with the MS-COCO style answer/question JSON it reads, written here from the same files.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ANSWERS = ["yes", "no", "pulmonary embolism", "meningioma", "renal cell carcinoma", "osteosarcoma", "hydronephrosis"]

# Our own driver of the official evaluator's class (the class and its arguments are the script's API).
DRIVER = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("official", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
evaluator = module.Ic2020VqaMedVqaEvaluator(sys.argv[2], sys.argv[3], sys.argv[4])
print(json.dumps(evaluator._evaluate({"submission_file_path": sys.argv[5]})))
"""


def write_files(folder: Path, n: int, seed: int = 0) -> dict[str, Path]:
    rng = random.Random(seed)
    ids = [f"synpic{100000 + i}" for i in range(n)]
    truth = {i: rng.choice(ANSWERS) for i in ids}
    run = {i: truth[i] if rng.random() < 0.6 else rng.choice(ANSWERS) for i in ids}
    paths = {name: folder / f"{name}.txt" for name in ("reference", "questions", "run")}
    paths["reference"].write_text("".join(f"{i}|{truth[i]}\n" for i in ids))
    paths["questions"].write_text("".join(f"{i}|what is abnormal in the image?\n" for i in ids))
    paths["run"].write_text("".join(f"{i}|{run[i]}\n" for i in ids))
    head = {"info": "", "task_type": "vqa", "license": "", "data_subtype": "bench", "data_type": "questions"}
    questions = [{"question": "what is abnormal in the image?", "question_id": i} for i in ids]
    annotations = [
        {
            "question_type": "abnormality",
            "question": "what is abnormal in the image?",
            "multiple_choice_answer": truth[i],
            "answers": [{"answer": truth[i], "answer_confidence": "Yes", "answer_id": 1}],
            "image_id": i,
            "answer_type": "abnormality",
            "question_id": i,
        }
        for i in ids
    ]
    paths["questions_json"] = folder / "questions.json"
    paths["answers_json"] = folder / "answers.json"
    paths["questions_json"].write_text(json.dumps({**head, "questions": questions}))
    paths["answers_json"].write_text(json.dumps({**head, "annotations": annotations}))
    paths["driver"] = folder / "official_driver.py"
    paths["driver"].write_text(DRIVER)
    return paths


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def seconds(command: list[str], repeat: int, status: int = 0) -> tuple[float, float, str]:
    """Median wall time and median CPU time (user + sys: what a busy shared machine does not inflate) of `repeat`
    runs, and the last line of output; each run must exit with `status`."""
    times = []
    cpu = []
    output = ""
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _children_cpu()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        cpu.append(_children_cpu() - start_cpu)
        lines = (result.stdout if status == 0 else result.stderr or result.stdout).strip().splitlines()
        output = lines[-1] if lines else ""
        if result.returncode != status:
            raise SystemExit(
                f"{' '.join(command)} exited {result.returncode}, not {status}:\n{result.stdout}{result.stderr}"
            )
    return statistics.median(times), statistics.median(cpu), output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--answers", type=int, default=500)
    parser.add_argument("--official", type=Path, default=None, help="Evaluator-VQA-Med-2020.py")
    parser.add_argument("--official-python", default=None, help="a Python that runs it (3.8, nltk 3.2.5)")
    args = parser.parse_args()
    baselines = str(Path(sys.executable).with_name("baselines"))
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(Path(tmp), args.answers)
        missing = Path(tmp) / "no-data"
        rows: list[tuple[str, list[str], int]] = [
            ("baselines tasks", [baselines, "tasks"], 0),
            (
                "baselines validate --task vqa",
                [baselines, "validate", "--task", "vqa", str(paths["run"]), "--images", str(paths["questions"])],
                0,
            ),
            (
                "baselines evaluate --task vqa (accuracy + BLEU)",
                [baselines, "evaluate", "--task", "vqa", str(paths["run"]), "--gt", str(paths["reference"])],
                0,
            ),
            ("baselines train --help", [baselines, "train", "--help"], 0),
            (
                "baselines train experiment=spll trainer.max_epoch=1 (config error)",
                [baselines, "train", "experiment=spll", "trainer.max_epoch=1"],
                2,
            ),
            (
                "baselines train experiment=vqa, no data there (config error)",
                [baselines, "train", "experiment=vqa", f"paths.root_dir={missing}", "trainer=cpu"],
                2,
            ),
            (
                "python -c 'import baselines.train' (what train paid before any check)",
                [sys.executable, "-c", "import baselines.train"],
                0,
            ),
        ]
        if args.official is not None:
            python = args.official_python or sys.executable
            driver = [str(paths[k]) for k in ("driver",)]
            rows.append(
                (
                    "official Evaluator-VQA-Med-2020.py",
                    [
                        python,
                        *driver,
                        str(args.official),
                        str(paths["reference"]),
                        str(paths["answers_json"]),
                        str(paths["questions_json"]),
                        str(paths["run"]),
                    ],
                    0,
                )
            )
        print(f"{args.answers} answers, median of {args.repeat} whole-process runs (Python start-up included)\n")
        print("| command | seconds | CPU-seconds | last line of output |")
        print("| --- | ---: | ---: | --- |")
        for name, command, status in rows:
            median, median_cpu, last = seconds(command, args.repeat, status)
            print(f"| {name} | {median:.2f} | {median_cpu:.2f} | {last[:70]} |")


if __name__ == "__main__":
    main()
