"""The real-data reference table (docs/real-data.md): each row converts public real images into the official
layout, trains the baseline on CPU from scratch within a CPU-minute budget, predicts, scores the run file
with `baselines evaluate` by the official metric, and computes the row's floor.

    python scripts/bench_real.py --sources SOURCES --work /tmp/real --cpu-minutes 8 --rows drawnui,coral_polygons

SOURCES holds the public repositories at the commits the table names (about 400 MB in all):

    git clone https://github.com/microsoft/ailab SOURCES/ailab && git -C SOURCES/ailab checkout 89fe2fc
    git clone https://github.com/Shathe/CoralSeg-Learning-coral-segmentation-from-sparse-annotations SOURCES/CoralSeg
    git -C SOURCES/CoralSeg checkout 4d6ce3e
    git clone https://github.com/CHILab1/MedPix-2.0 SOURCES/MedPix-2.0 && git -C SOURCES/MedPix-2.0 checkout d3bc431
    git clone https://github.com/abachaa/VQA-Med-2021 SOURCES/VQA-Med-2021
    git -C SOURCES/VQA-Med-2021 checkout ffa0e6c
    git clone https://github.com/thiliniprr/AquaNet_VQA SOURCES/AquaNet_VQA
    git -C SOURCES/AquaNet_VQA checkout af1d8bb

(some of them keep large files in Git LFS: `git lfs pull` in each after the checkout). Only the folders the
converters read are used (scripts/real_data/*.py say which). EilatMixx and MedPix 2.0 state no licence: the
converted data stay under --work, nothing is committed.

Training runs in a subprocess (`python -m baselines.cli train experiment=<task> paths.data_dir=$DATA ...`, the
official-layout pipeline unchanged) with `--threads` torch threads (OMP_NUM_THREADS), data loading in the
training process (`data.loader.num_workers=0`), and `baselines.callbacks.CpuBudget`, which ends training after the
epoch that leaves too little of `--cpu-minutes` for another. Its CPU time is measured as user + sys of the
subprocess (`resource.getrusage(RUSAGE_CHILDREN)`), start-up, prediction of the test set and scoring included.

Rows are a registry (`ROWS`, one function per row, `@row`): a row gets a `Bench` (paths, budget, the helpers
to train and evaluate) and returns a `Result`. Each row prints a Markdown line and the whole run a JSON list
(`--json FILE` also writes it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def _converter(name: str) -> ModuleType:
    """A module of scripts/real_data (scripts, not the package: loaded by path)."""
    spec = importlib.util.spec_from_file_location(f"real_data_{name}", REPO / "scripts" / "real_data" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Result:
    """One row of the table.

    Attributes:
        row: The row's name.
        task: The registered task scored.
        data: Data and split, in words.
        metric: The official primary metric.
        score: The trained baseline's score on the test split.
        floor: The floor's score by the same metric.
        floor_what: What the floor is.
        cpu_minutes: CPU minutes of the training subprocess (start-up, training, prediction).
        train_cpu_minutes: Of which in training (from the run's log of CpuBudget, else the whole).
        epochs: Epochs trained.
        extra: Other scores (secondary metrics, pixel accuracy, further floors).
        commands: The commands run, in order.
    """

    row: str
    task: str
    data: str
    metric: str
    score: float
    floor: float
    floor_what: str
    cpu_minutes: float
    epochs: int
    extra: dict[str, float] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        beats = "yes" if self.score > self.floor else "**no**"
        return (
            f"| {self.row} | {self.data} | {self.metric} | {self.score:.4f} | {self.floor:.4f} ({self.floor_what}) "
            f"| {beats} | {self.cpu_minutes:.1f} | {self.epochs} |"
        )


HEADER = (
    "| row | data (test split) | metric | trained | floor | beats floor | CPU-min | epochs |\n"
    "| --- | --- | --- | ---: | --- | --- | ---: | ---: |"
)


@dataclass
class Bench:
    """What a row works with.

    Attributes:
        sources: The folder of source checkouts.
        work: Scratch folder: converted data (`work/data`, the $DATA root), runs (`work/runs/<row>`).
        cpu_minutes: Training budget per row (CPU minutes).
        threads: Torch threads of the training subprocess.
        reuse: Reuse a row's finished training (its run file and measured CPU time, `bench_train.json`)
            instead of training again: to rescore or recompute floors.
        commands: Commands run so far for the current row.
    """

    sources: Path
    work: Path
    cpu_minutes: float
    threads: int
    reuse: bool = False
    commands: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.work / "data"

    def run_dir(self, name: str) -> Path:
        return self.work / "runs" / name

    def _run(self, argv: list[str]) -> tuple[str, float]:
        """Runs a command; returns its stdout and the CPU seconds (user + sys) it used."""
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
        env.setdefault("HF_HUB_OFFLINE", "1")
        shown = " ".join(shlex.quote(a) for a in argv).replace(sys.executable, "python")
        self.commands.append(shown.replace(str(self.data), "$DATA"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise RuntimeError(f"{shown} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
        return done.stdout + done.stderr, cpu

    def convert(self, name: str, *args: Path) -> None:
        """Runs scripts/real_data/<name>.py SOURCE... $DATA (once: a `.done` marker per converter)."""
        marker = self.data / f".{name}.done"
        script = REPO / "scripts" / "real_data" / f"{name}.py"
        argv = [sys.executable, str(script), *map(str, args), str(self.data)]
        if marker.is_file():
            self.commands.append(" ".join(argv).replace(sys.executable, "python") + "   # done before")
            return
        self._run(argv)
        marker.write_text("")

    def train(self, experiment: str, name: str, overrides: Sequence[str]) -> tuple[Path, float, int]:
        """`baselines train experiment=... paths.data_dir=$DATA` on CPU within the budget.

        Returns:
            The test-set run file, the CPU seconds of the subprocess, and the epochs trained.
        """
        out = self.run_dir(name)
        measured = out / "bench_train.json"
        if self.reuse and measured.is_file():  # scoring again without training again
            record = json.loads(measured.read_text())
            self.commands.extend(record["commands"])
            return Path(record["run_file"]), record["cpu_seconds"], record["epochs"]
        argv = [
            sys.executable,
            "-m",
            "baselines.cli",
            "train",
            f"experiment={experiment}",
            "trainer=cpu",
            f"paths.data_dir={self.data}",
            f"hydra.run.dir={out}",
            "data.loader.num_workers=0",
            "data.loader.pin_memory=false",
            "data.loader.persistent_workers=false",
            "+callbacks.cpu_budget._target_=baselines.callbacks.CpuBudget",
            f"+callbacks.cpu_budget.minutes={self.cpu_minutes}",
            "overwrite=true",
            *overrides,
        ]
        _, cpu = self._run(argv)
        runs = [p for p in (out / "runs").iterdir() if not p.name.endswith(".json") and p.is_file()]
        if len(runs) != 1:
            raise RuntimeError(f"{out / 'runs'}: expected one run file, found {runs}")
        epochs = max((_epochs(m) for m in (out / "csv").rglob("metrics.csv")), default=0)
        record = {"run_file": str(runs[0]), "cpu_seconds": cpu, "epochs": epochs, "commands": self.commands[-1:]}
        measured.write_text(json.dumps(record, indent=2) + "\n")
        return runs[0], cpu, epochs

    def evaluate(self, task: str, run_file: Path, gt: Path, images: Path | None = None) -> dict[str, float]:
        """`baselines evaluate --task T RUN --gt GT [--images DIR] --json`."""
        argv = [sys.executable, "-m", "baselines.cli", "evaluate", "--task", task, str(run_file), "--gt", str(gt)]
        if images is not None:
            argv += ["--images", str(images)]
        output, _ = self._run([*argv, "--json"])
        return json.loads(output[output.index("{") : output.rindex("}") + 1])


def _epochs(metrics: Path) -> int:
    """Epochs trained, from the CSV logger's `epoch` column."""
    if not metrics.is_file():
        return 0
    import csv

    with metrics.open() as handle:
        epochs = {row["epoch"] for row in csv.DictReader(handle) if row.get("epoch")}
    return len(epochs)


ROWS: dict[str, Callable[[Bench], Result]] = {}


def row(function: Callable[[Bench], Result]) -> Callable[[Bench], Result]:
    """Registers a row under its function's name."""
    ROWS[function.__name__] = function
    return function


# ---- shared recipes (CPU, random init: no weights can be downloaded) -------------------------------------------

DETECTOR = [
    "model.net.backbone=resnet10t",
    "model.net.pretrained=false",
    "model.net.fpn_channels=64",
    "model.net.representation_size=256",
    "model.optim.optimizer.lr=1e-3",
    "data.loader.batch_size=4",
    "trainer.max_epochs=60",
]
SEGMENTER = [
    "model.net.encoder=tu-resnet10t",
    "model.net.encoder_weights=null",
    "model.net.decoder_channels=[64,32,16,16,16]",
    "model.optim.optimizer.lr=3e-3",
    "data.image_size=256",
    "data.loader.batch_size=8",
    "trainer.max_epochs=60",
]
CAPTIONER = [
    "model.net.encoder=null",
    "model.net.decoder=null",
    "model.net.hidden_size=128",
    "model.net.encoder_layers=2",
    "model.net.decoder_layers=2",
    "model.net.attention_heads=4",
    "model.net.max_positions=64",
    "model.optim.optimizer.lr=5e-4",
    "data.image_size=64",
    "data.loader.batch_size=32",
    "trainer.max_epochs=40",
]


def _floor(bench: Bench, task: str, run_file: Path, gt: Path, images: Path | None = None) -> dict[str, float]:
    bench.commands.append(f"# floor: {run_file.name}")
    return bench.evaluate(task, run_file, gt, images)


def _sources(bench: Bench, *parts: str) -> Path:
    path = bench.sources.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: see `python scripts/bench_real.py --help` for the checkouts")
    return path


# ---- rows ------------------------------------------------------------------------------------------------------


def _detection(bench: Bench, task: str, data: str, gt: Path, train_gt: Path, root: Path, extra: list[str]) -> Result:
    floors = _converter("floors")
    run, cpu, epochs = bench.train(task, task, [*DETECTOR, *extra])
    scores = bench.evaluate(task, run, gt, root / "test")
    floor_run = floors.box_prior(
        task, train_gt, root / "train", root / "test", bench.run_dir(task) / "floor_box_prior.txt"
    )
    floor = _floor(bench, task, floor_run, gt, root / "test")
    return Result(
        task,
        task,
        data,
        "map_50",
        scores["map_50"],
        floor["map_50"],
        "each class's mean training box at its box frequency",
        cpu / 60,
        epochs,
        {
            **{k: v for k, v in scores.items() if "/" not in k},
            **{f"floor/{k}": v for k, v in floor.items() if "/" not in k},
        },
    )


@row
def drawnui(bench: Bench) -> Result:
    bench.commands = []
    bench.convert("sketch2code", _sources(bench, "ailab", "Sketch2Code", "model"))
    root = bench.data / "drawnui"
    return _detection(
        bench,
        "drawnui",
        "Sketch2Code 149 forms: 119 train / 30 test (seed 0)",
        root / "test-set.csv",
        root / "train-set.csv",
        root,
        ["data.image_size=320"],
    )


def _coral(bench: Bench) -> Path:
    bench.convert("eilatmixx", _sources(bench, "CoralSeg", "Datasets", "EilatMixx"))
    return bench.data / "coral"


@row
def coral_boxes(bench: Bench) -> Result:
    bench.commands = []
    root = _coral(bench)
    return _detection(
        bench,
        "coral_boxes",
        "EilatMixx boxes from masks: 91 train / 32 test crops",
        root / "annotations_test_2020_boxes.cvs.txt",
        root / "annotations_train_2020_boxes.cvs.txt",
        root,
        ["data.image_size=320"],
    )


@row
def coral_polygons(bench: Bench) -> Result:
    bench.commands = []
    floors = _converter("floors")
    root = _coral(bench)
    gt = root / "annotations_test_2020_polygons.cvs.txt"
    train_gt = root / "annotations_train_2020_polygons.cvs.txt"
    # Unweighted cross-entropy + Dice (the segmenter's default). Median-frequency class weights (capped at 10)
    # were tried within 5 CPU-minutes: after 4 epochs the model painted the rare substrates everywhere (pixel
    # accuracy 0.095, mIoU 0.044), far below this recipe: docs/real-data.md.
    run, cpu, epochs = bench.train("coral_polygons", "coral_polygons", SEGMENTER)
    scores = bench.evaluate("coral_polygons", run, gt, root / "test")
    pixels = floors.run_pixel_scores(run, root / "test", root / "test_masks")
    majority = floors.majority_pixel_accuracy(train_gt, root / "train", root / "test_masks")
    floor_run = floors.majority_polygon(
        train_gt, root / "train", root / "test", bench.run_dir("coral_polygons") / "floor_majority.txt"
    )
    floor = _floor(bench, "coral_polygons", floor_run, gt, root / "test")
    floor_pixels = floors.run_pixel_scores(floor_run, root / "test", root / "test_masks")
    extra = {k: v for k, v in scores.items() if "/" not in k}
    extra |= {"pixel_accuracy": pixels["pixel_accuracy"], "miou": pixels["miou"]}
    extra |= {f"floor_majority_label/{k}": v for k, v in majority.items()}
    extra |= {f"floor_majority_substrate/{k}": v for k, v in floor.items() if "/" not in k}
    extra |= {f"floor_majority_substrate/{k}": v for k, v in floor_pixels.items()}
    return Result(
        "coral_polygons",
        "coral_polygons",
        "EilatMixx: 91 train / 32 test crops (31 photos, none shared)",
        "map_50",
        scores["map_50"],
        floor["map_50"],
        "the majority training substrate as one whole-image polygon",
        cpu / 60,
        epochs,
        extra,
    )


def _medcaption(bench: Bench) -> Path:
    bench.convert("medpix", _sources(bench, "MedPix-2.0", "MedPix-2-0"))
    return bench.data / "medcaption"


@row
def concepts(bench: Bench) -> Result:
    bench.commands = []
    floors = _converter("floors")
    root = _medcaption(bench)
    overrides = [
        "model.net.name=resnet10t",
        "model.net.pretrained=false",
        "model.optim.optimizer.lr=1e-3",
        "data.image_size=96",
        "data.loader.batch_size=32",
        "trainer.max_epochs=40",
        f"data.val_concepts={root / 'val/concepts.txt'}",
        f"data.val_images={root / 'val/images'}",
    ]
    run, cpu, epochs = bench.train("concepts", "concepts", overrides)
    gt = root / "test/concepts.txt"
    scores = bench.evaluate("concepts", run, gt, root / "test/images")
    floor_run = floors.constant_concepts(
        root / "train/concepts.txt", root / "test/images", bench.run_dir("concepts") / "floor_constant.tsv"
    )
    floor = _floor(bench, "concepts", floor_run, gt, root / "test/images")
    return Result(
        "concepts",
        "concepts",
        "MedPix 2.0 modality/plane/location as concepts: 1,653 train / 197 val / 200 test",
        "f1",
        scores["f1"],
        floor["f1"],
        "the best constant label set (official F1 on train)",
        cpu / 60,
        epochs,
        {**scores, **{f"floor/{k}": v for k, v in floor.items()}},
    )


def _tokenizer(bench: Bench, texts: Path, separator: str, name: str) -> Path:
    """A local word-level tokenizer of the training texts (no hub here)."""
    from baselines.text.tokenizers import train_word_tokenizer

    out = bench.work / "tokenizers" / name
    lines = texts.read_text(encoding="utf-8").splitlines()
    train_word_tokenizer([line.split(separator, 1)[1] for line in lines if separator in line], out, min_frequency=2)
    bench.commands.append(
        f"# tokenizer: baselines.text.tokenizers.train_word_tokenizer(texts of {texts.name}, {out}, min_frequency=2)"
    )
    return out


@row
def caption(bench: Bench) -> Result:
    bench.commands = []
    floors = _converter("floors")
    root = _medcaption(bench)
    tokenizer = _tokenizer(bench, root / "train/captions.txt", "\t", "medpix")
    overrides = [
        *CAPTIONER,
        f"model.tokenizer={tokenizer}",
        "model.max_length=40",
        "model.num_beams=2",
        f"data.val_captions={root / 'val/captions.txt'}",
        f"data.val_images={root / 'val/images'}",
    ]
    run, cpu, epochs = bench.train("caption", "caption", overrides)
    gt = root / "test/captions.txt"
    scores = bench.evaluate("caption", run, gt, root / "test/images")
    out = bench.run_dir("caption")
    nearest = floors.nearest_caption(
        root / "train/captions.txt", root / "train/images", root / "test/images", out / "floor_nearest.tsv"
    )
    frequent = floors.frequent_caption(root / "train/captions.txt", root / "test/images", out / "floor_frequent.tsv")
    floor = _floor(bench, "caption", nearest, gt, root / "test/images")
    floor_frequent = _floor(bench, "caption", frequent, gt, root / "test/images")
    return Result(
        "caption",
        "caption",
        "MedPix 2.0 captions: 1,653 train / 197 val / 200 test",
        "bleu",
        scores["bleu"],
        floor["bleu"],
        "caption of the nearest training thumbnail",
        cpu / 60,
        epochs,
        {
            **scores,
            **{f"floor_nearest/{k}": v for k, v in floor.items()},
            **{f"floor_frequent/{k}": v for k, v in floor_frequent.items()},
        },
    )


@row
def vqg(bench: Bench) -> Result:
    bench.commands = []
    floors = _converter("floors")
    bench.convert(
        "vqamed_vqg",
        _sources(bench, "AquaNet_VQA", "dataset", "image_files", "ImageClef_2019_Training"),
        _sources(bench, "VQA-Med-2021", "Task2-VQG-2021-TestSet-w-GroundTruth.zip"),
    )
    root = bench.data / "vqamed" / "vqg"
    tokenizer = _tokenizer(bench, root / "train/questions.txt", "|", "vqg")
    # 12,152 training questions: epochs of 100 batches (3,200 questions), so the CPU budget is checked often
    overrides = [
        *CAPTIONER,
        f"model.tokenizer={tokenizer}",
        "model.max_length=20",
        "model.num_beams=3",
        "+trainer.limit_train_batches=100",
    ]
    run, cpu, epochs = bench.train("vqg", "vqg", overrides)
    gt = root / "test/questions.txt"
    scores = bench.evaluate("vqg", run, gt, root / "test/images")
    floor_run = floors.frequent_questions(
        root / "train/questions.txt", root / "test/images", bench.run_dir("vqg") / "floor_frequent.txt"
    )
    floor = _floor(bench, "vqg", floor_run, gt, root / "test/images")
    return Result(
        "vqg",
        "vqg",
        "VQG 2021 test, 76 images (trained on the VQA-Med 2019 training questions)",
        "bleu",
        scores["bleu"],
        floor["bleu"],
        "the 3 most frequent training questions for every image",
        cpu / 60,
        epochs,
        {**scores, **{f"floor/{k}": v for k, v in floor.items()}},
    )


VQA = [
    "data=vqa2019",
    "model.image_net.name=resnet10t",
    "model.image_net.pretrained=false",
    "model.text_net.name=null",
    "model.text_net.hidden_size=128",
    "model.text_net.layers=2",
    "model.text_net.attention_heads=2",
    "model.optim.optimizer.lr=2e-3",
    "data.image_size=64",
    "data.loader.batch_size=32",
    "trainer.max_epochs=10",
    "trainer.check_val_every_n_epoch=10",  # validation once, at the end: the reported split selects nothing
]


@row
def vqa(bench: Bench) -> Result:
    """VQA-Med 2019 validation, predicted and scored per category file (scripts/real_data/vqamed2019.py)."""
    bench.commands = []
    release = _converter("vqamed2019")
    release.lay_out(_sources(bench, "AquaNet_VQA"), bench.data)
    bench.commands.append("python scripts/real_data/vqamed2019.py SOURCES/AquaNet_VQA $DATA")
    training = bench.data / release.RELEASE / release.TRAINING
    tokenizer = bench.work / "tokenizers" / "vqa2019"
    from baselines.io.formats.vqamed import read_qa
    from baselines.text.tokenizers import train_word_tokenizer

    train_word_tokenizer([q for _, q, _ in read_qa(training / "All_QA_Pairs_train.txt")], tokenizer)
    bench.commands.append(f"# tokenizer: train_word_tokenizer(the questions of All_QA_Pairs_train.txt, {tokenizer})")
    images = bench.data / release.RELEASE / release.VALIDATION / "Val_images"
    first, *others = release.CATEGORIES
    overrides = [
        *VQA,
        f"model.tokenizer={tokenizer}",
        f"data.predict_questions={release.category_file(bench.data, first)}",
        f"data.predict_images={images}",
    ]
    run, cpu, epochs = bench.train("vqa", "vqa", overrides)
    runs = {first: run}
    checkpoint = bench.run_dir("vqa") / "checkpoints" / "last.ckpt"
    for category in others:
        out = bench.run_dir(f"vqa-val-{category}")
        argv = [sys.executable, "-m", "baselines.cli", "predict", f"ckpt_path={checkpoint}", f"hydra.run.dir={out}"]
        argv += [f"paths.data_dir={bench.data}", "data.loader.num_workers=0", "overwrite=true"]
        argv += [f"data.predict_questions={release.category_file(bench.data, category)}"]
        argv += [f"data.predict_images={images}"]
        _, seconds = bench._run(argv)
        cpu += seconds
        runs[category] = out / "runs" / "vqa.txt"
    scores = {}
    for category, path in runs.items():
        truth = release.category_file(bench.data, category)
        scores[category] = bench.evaluate("vqa", path, truth) | {"questions": len(read_qa(truth))}
    pooled = release.pooled(scores)
    floor = release.question_prior(bench.data)
    bench.commands.append("python scripts/real_data/vqamed2019.py --floor $DATA")
    extra = {"bleu": pooled["bleu"], "floor/bleu": floor["all"]["bleu"]}
    for category in release.CATEGORIES:
        extra |= {f"{category}/accuracy": scores[category]["accuracy"], f"{category}/bleu": scores[category]["bleu"]}
        extra |= {f"floor/{category}/accuracy": floor[category]["accuracy"]}
    return Result(
        "vqa",
        "vqa",
        "VQA-Med 2019 validation: 2,000 questions on 500 images (trained on 12,792 / 3,200)",
        "accuracy",
        pooled["accuracy"],
        floor["all"]["accuracy"],
        "the most frequent training answer to the same question text",
        cpu / 60,
        epochs,
        extra,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, required=True, help="folder of the source checkouts (see above)")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder: converted data and runs")
    parser.add_argument("--cpu-minutes", type=float, default=8.0, help="training budget per row, CPU minutes")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads of each training (more spin on a shared machine)"
    )
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of {', '.join(ROWS)}")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--reuse", action="store_true", help="score a row's finished training again, no training")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.rows.split(",") if n.strip()]
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; known: {', '.join(ROWS)}")
    bench = Bench(args.sources.resolve(), args.work.resolve(), args.cpu_minutes, args.threads, args.reuse)
    bench.data.mkdir(parents=True, exist_ok=True)
    results = []
    print(HEADER, flush=True)
    for name in names:
        start = time.perf_counter()
        result = ROWS[name](bench)
        result.commands = list(bench.commands)
        results.append(result)
        print(result.markdown() + f"  <!-- {time.perf_counter() - start:.0f} s wall -->", flush=True)
    text = json.dumps([asdict(r) for r in results], indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
