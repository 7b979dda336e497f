"""The real user's path: README.md's real-data commands, run as written on tiny files in the official layout.

Every other pipeline test composes `+demo=<task>` (the generators' data in this layout, demo sizes, their
ground truth scored). Here nothing of the demo is used: each experiment's real-data config reads
`$DATA/<task>/...` laid out as the organisers released it (`configs/data/<task>.yaml`, docs/tasks/<task>.md),
`evaluation.*` stays at its defaults, and the README's commands run through the `baselines` entry point. The
only additions are what makes them fast and offline: random-init tiny networks (as a user without internet
would set them), local word-level tokenizers, one epoch of two batches, CPU. The synthetic generators write
the official layout itself (with a validation split where the README scores one); here the coral training
annotations are only rewritten CRLF without a final newline, as released, and the lifelog test topics cut to
two. The image tasks run a second time on real images (tests/fixtures/real_images: VQA-Med 2019 radiology
images with their QA lines, Sketch2Code sketches with their boxes; grayscale, palette, 16-bit, EXIF-rotated,
transparent and odd-sized variants among them).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from baselines.cli import main
from baselines.config import config_dir, register_resolvers
from baselines.synthetic import coral, drawnui, lifelog, medcaption, tuberculosis, vqamed
from baselines.tasks import get_task
from baselines.text.tokenizers import train_word_tokenizer
from tasks import KITS

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "<!-- real-data commands: tests/test_real_data.py runs this block -->"
EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))
EVALUATION_DEFAULTS = OmegaConf.to_container(OmegaConf.load(config_dir() / "train.yaml").evaluation)
SCORED = {"concepts", "caption", "vqa", "vqg", "lmrt"}  # the releases with a validation (development) split

# Added to every `train` and to a `predict` that names its experiment (one that reuses a checkpoint replays the
# overrides stored in it): CPU, one epoch of two batches, loaders in the test process.
FAST = (
    "trainer.accelerator=cpu",
    "trainer.precision=32-true",
    "trainer.benchmark=false",
    "trainer.max_epochs=1",
    "++trainer.limit_train_batches=2",
    "++trainer.limit_val_batches=1",
    "data.num_workers=0",
    "data.pin_memory=false",
    "data.persistent_workers=false",
)
# Random-init tiny networks (each task's kit, tests/tasks/); `{data}` is this test's data folder, where the builders
# leave a word-level tokenizer of the training texts (`<task>/tokenizer`, as the generators write it), as a user
# offline would point `model.tokenizer` at a local folder.
TINY: dict[str, tuple[str, ...]] = {name: kit.real for name, kit in KITS.items()}


Layout = dict[str, dict[str, list[str]]]
"""What a builder of a tiny data set in the official layout returns: experiment -> split ("val" or "test") ->
the ids a run file predicted for that split must cover (in the order a run must follow, where one is required)."""


def readme_commands() -> dict[str, list[str]]:
    """experiment -> its commands, from the README block after MARKER (`# <experiment>` starts a section)."""
    text = README.read_text()
    assert MARKER in text, f"README.md lost the marker {MARKER!r}"
    block = text.split(MARKER, 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in block.replace("\\\n", " ").splitlines():
        header = re.match(r"# (\w+)\b", line)
        if header and header.group(1) in EXPERIMENTS:
            current = sections.setdefault(header.group(1), [])
        elif line.startswith("baselines ") and current is not None:
            current.append(line)
    return sections


def test_readme_has_commands_for_every_experiment() -> None:
    sections = readme_commands()
    assert sorted(sections) == EXPERIMENTS
    for name, commands in sections.items():
        assert commands[0].startswith(("baselines train", "baselines predict experiment=")), name
        assert f"experiment={name}" in commands[0]


# ---- tiny data sets in the official layouts (docs/tasks/<task>.md) --------------------------------------------


def _crlf_without_final_newline(path: Path) -> None:
    """As the released coral annotation files are written."""
    path.write_bytes(path.read_bytes().rstrip(b"\n").replace(b"\n", b"\r\n"))


def _ids(path: Path) -> list[str]:
    """The ids of a `|`-separated VQA-Med file, in file order."""
    return [line.split("|", 1)[0] for line in path.read_text().splitlines()]


def _drawnui(data: Path) -> Layout:
    root = drawnui.generate(data / "drawnui", n_train=4, n_test=2)
    return {"drawnui": {"test": sorted(p.name for p in (root / "test").iterdir())}}


def _coral(data: Path) -> Layout:
    root = coral.generate(data / "coral", n_train=4, n_test=2)
    for kind in ("boxes", "polygons"):
        _crlf_without_final_newline(root / coral.ANNOTATIONS["train", kind])
    test = sorted(p.stem for p in (root / "test").iterdir())
    return {"coral_boxes": {"test": test}, "coral_polygons": {"test": test}}


def _medcaption(data: Path) -> Layout:
    root = medcaption.generate(data / "medcaption", n_train=8, n_val=3, n_test=3, size=48)
    splits = {split: sorted(p.stem for p in (root / split / "images").rglob("*.jpg")) for split in ("val", "test")}
    return {"concepts": splits, "caption": splits}


def _vqamed(data: Path) -> Layout:
    root = vqamed.generate(data / "vqamed", n_train=8, n_val=3, n_test=3, size=32)
    val_ids, test_ids = (
        _ids(root / folder / qa_file) for folder, qa_file, _ in map(vqamed.VQA_SETS.get, ("val", "test"))
    )
    return {
        "vqa": {"val": val_ids, "test": test_ids},  # in file order: a VQA run follows the questions' order
        "vqg": {"val": sorted(val_ids), "test": sorted(test_ids)},
    }


def _lifelog(data: Path) -> Layout:
    root = lifelog.generate(data / "lifelog", n_events=8, size=32)
    topics = (root / lifelog.DEV_TOPICS).read_text().splitlines(keepends=True)
    (root / lifelog.TEST_TOPICS).write_text("".join(topics[:3]))  # other topics than the dev ones, also from 1
    dev = [line.split(",", 1)[0] for line in topics[1:]]
    return {"lmrt": {"val": dev, "test": dev[:2]}}  # topics in file order


def _spll(data: Path) -> Layout:
    # No 2020 SPLL file was seen: the project's tables, with another number of features than the demo's 6.
    root = data / "spll"
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    header = "participant_id,sleep_hours,resting_heart_rate,daily_steps,runs_per_week\n"
    train = [f"p{i:02d},{6 + i % 3},{55 + i},{7000 + 300 * i},{1 + i % 4}\n" for i in range(10)]
    (root / "train/features.csv").write_text(header + "".join(train))
    (root / "train/targets.csv").write_text(
        "participant_id,target\n" + "".join(f"p{i:02d},{(i % 5 - 2) / 10}\n" for i in range(10))
    )
    (root / "test/features.csv").write_text(header + "".join(f"t{i},{7},{60 + i},{8000},{2}\n" for i in range(3)))
    return {"spll": {"test": ["t0", "t1", "t2"]}}


def _tuberculosis(data: Path) -> Layout:
    root = tuberculosis.generate(data / "tuberculosis", n_train=6, n_test=2, size=24)
    return {"tbct": {"test": sorted(p.name for p in (root / "CTR_TST_data").iterdir())}}


BUILD: dict[str, Callable[[Path], Layout]] = {
    "drawnui": _drawnui,
    "coral_boxes": _coral,
    "coral_polygons": _coral,
    "concepts": _medcaption,
    "caption": _medcaption,
    "vqa": _vqamed,
    "vqg": _vqamed,
    "lmrt": _lifelog,
    "spll": _spll,
    "tbct": _tuberculosis,
}


# ---- the same layouts with real images (tests/fixtures/real_images, README.md there) -------------------------

REAL = Path(__file__).resolve().parent / "fixtures" / "real_images"
# VQA-Med 2019 images by split: each holds variants (16-bit, palette, grayscale, EXIF-rotated, odd-sized)
RADIOLOGY = {
    "train": ["synpic15996", "synpic44902", "synpic48754", "synpic45022"],
    "val": ["synpic18201", "synpic21427"],
    "test": ["synpic24033", "synpic19884"],
}
# Medical caption modality folders for the 2019 modality answers (nuclear medicine has none: left flat)
MODALITY_FOLDERS = {
    "xr": "DRXR",
    "mammograph": "DRXR",
    "ct": "DRCT",
    "cta": "DRCT",
    "mr": "DRMR",
    "us": "DRUS",
    "an": "DRAN",
}
# The sizes the images show at (EXIF orientation applied), to place made-up coral regions on
SHOWN = {
    "synpic15996": (261, 182),
    "synpic44902": (238, 270),
    "synpic24033": (333, 97),
    "552147ca-3b14-44ed-8de7-4638f1598c92": (600, 450),
    "d8583058-613e-4990-8973-5a231de3467b": (600, 450),
    "3cf4d5e6-cede-4272-aec0-f29790add91a": (1600, 277),
}


def _real(stem: str) -> Path:
    (path,) = [p for p in REAL.glob(f"*/{stem}.*")]
    return path


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)


def _radiology_qa() -> dict[str, list[tuple[str, str]]]:
    """Image id -> its four real 2019 (question, answer) pairs: modality, plane, organ, abnormality."""
    qa: dict[str, list[tuple[str, str]]] = {}
    for line in (REAL / "radiology_qa.txt").read_text().splitlines():
        image_id, question, answer = line.split("|")
        qa.setdefault(image_id, []).append((question, answer))
    return qa


def _real_drawnui(data: Path) -> Layout:
    root = data / "drawnui"
    _copy(REAL / "sketches_boxes.csv", root / "train-set.csv")  # the sketches' real boxes, drawnUI classes
    for sketch in (REAL / "sketches").iterdir():
        _copy(sketch, root / "train" / sketch.name)
    for stem in ("d8583058-613e-4990-8973-5a231de3467b", "125ccd38-5f68-48c0-b060-8fb08dca2eca", "synpic24033"):
        _copy(_real(stem), root / "test" / _real(stem).name)
    return {"drawnui": {"test": sorted(p.name for p in (root / "test").iterdir())}}


def _real_coral(data: Path) -> Layout:
    """Real images with made-up substrates: two regions per image, placed from the size it shows at."""
    root = data / "coral"
    boxes, polygons = [], []
    for split, stems in (
        (
            "train",
            [
                "synpic15996",
                "synpic44902",
                "552147ca-3b14-44ed-8de7-4638f1598c92",
                "d8583058-613e-4990-8973-5a231de3467b",
            ],
        ),
        ("test", ["synpic24033", "3cf4d5e6-cede-4272-aec0-f29790add91a"]),
    ):
        for stem in stems:
            source = _real(stem)  # the released images are `<img_id>.JPG`; PNGs keep their suffix
            _copy(source, root / split / (stem + (".JPG" if source.suffix == ".jpg" else source.suffix)))
            if split == "test":
                continue
            w, h = SHOWN[stem]
            for index, (substrate, x0, y0, x1, y1) in enumerate(
                [("c_soft_coral", w // 8, h // 8, w // 2, h // 2), ("c_sponge", w // 2, h // 2, 7 * w // 8, 7 * h // 8)]
            ):
                boxes.append(
                    f"{stem} {index} {substrate} 1 {x0} {y1} {x1} {y0}"
                )  # as released: x_min y_max x_max y_min
                polygons.append(f"{stem} {index} {substrate} 1 {x0} {y0} {x1} {y0} {(x0 + x1) // 2} {y1}")
    for kind, lines in (("boxes", boxes), ("polygons", polygons)):
        (root / f"annotations_train_2020_{kind}.cvs.txt").write_text("\n".join(lines))
        _crlf_without_final_newline(root / f"annotations_train_2020_{kind}.cvs.txt")
    test = sorted(p.stem for p in (root / "test").iterdir())
    return {"coral_boxes": {"test": test}, "coral_polygons": {"test": test}}


def _real_medcaption(data: Path) -> Layout:
    """The radiology images in their modality folders; concepts (`C99...`, made up: one per 2019 modality,
    plane and organ answer, not UMLS CUIs) and captions (the 2019 answers joined) for them."""
    qa = _radiology_qa()
    answers = sorted({a for pairs in qa.values() for _, a in pairs[:3]})
    concept = {answer: f"C99{i:05d}" for i, answer in enumerate(answers, 1)}
    root = data / "medcaption"
    captions: dict[str, str] = {}
    for split, ids in RADIOLOGY.items():
        concepts, texts = [], []
        for image_id in ids:
            modality, plane, organ, abnormality = (answer for _, answer in qa[image_id])
            folder = MODALITY_FOLDERS.get(modality.split(" ", 1)[0], "")
            _copy(_real(image_id), root / split / "images" / folder / _real(image_id).name)
            concepts.append(f"{image_id}\t{';'.join(concept[a] for a in (modality, plane, organ))}\n")
            captions[image_id] = f"{plane} {modality} of the {organ}: {abnormality}"
            texts.append(f"{image_id}\t{captions[image_id]}\n")
        if split != "test":
            (root / split / "concepts.txt").write_text("".join(concepts))
            (root / split / "captions.txt").write_text("".join(texts))
    train_word_tokenizer([captions[i] for i in RADIOLOGY["train"]], root / "tokenizer")
    splits = {"val": sorted(RADIOLOGY["val"]), "test": sorted(RADIOLOGY["test"])}
    return {"concepts": splits, "caption": splits}


def _real_vqamed(data: Path) -> Layout:
    """The radiology images with their real 2019 questions: for VQA one per image and file (the 2020 files
    hold one), a different category for each; for VQG all four."""
    qa = _radiology_qa()
    root = data / "vqamed"
    train = root / "VQA-TrainingSet-VQAMed2020-Task1"
    val = root / "VQA-ValidationSet-VQAMed2020-Task1"
    test = root / "VQA-TestSet-ReferenceAnswers-VQAMed2020-Task1"
    folders = {
        "train": train / "VQAnswering_2020_Train_images",
        "val": val / "VQAnswering_2020_Val_images",
        "test": test / "Task1-2020-VQAnswering-Test-Images",
    }
    asked: dict[str, list[tuple[str, str, str]]] = {}
    for split, ids in RADIOLOGY.items():
        asked[split] = [(i, *qa[i][k % 4]) for k, i in enumerate(ids, 3 if split == "test" else 0)]
        for image_id in ids:
            _copy(_real(image_id), folders[split] / _real(image_id).name)
            _copy(_real(image_id), root / "vqg" / split / "images" / _real(image_id).name)  # VQG has its own
        if split != "test":
            (root / "vqg" / split / "questions.txt").write_text("".join(f"{i}|{q}\n" for i in ids for q, _ in qa[i]))
    (train / "VQAnswering_2020_Train_QA_pairs.txt").write_text("".join(f"{i}|{q}|{a}\n" for i, q, a in asked["train"]))
    (val / "VQAnswering_2020_Val_QA_Pairs.txt").write_text("".join(f"{i}|{q}|{a}\n" for i, q, a in asked["val"]))
    (test / "VQAMed2020-Task1-VQAnswering-Test-Questions.txt").write_text(
        "".join(f"{i}|{q}\n" for i, q, _ in asked["test"])
    )
    (test / "VQAMed2020-Task1-VQAnswering-Test-ReferenceAnswers.txt").write_text(
        "".join(f"{i}|{a}\n" for i, _, a in asked["test"])
    )
    train_word_tokenizer([q for i in RADIOLOGY["train"] for q, _ in qa[i]], root / "tokenizer")
    return {
        "vqa": {"val": RADIOLOGY["val"], "test": RADIOLOGY["test"]},  # in file order
        "vqg": {"val": sorted(RADIOLOGY["val"]), "test": sorted(RADIOLOGY["test"])},
    }


REAL_BUILD: dict[str, Callable[[Path], Layout]] = {
    "drawnui": _real_drawnui,
    "coral_boxes": _real_coral,
    "coral_polygons": _real_coral,
    "concepts": _real_medcaption,
    "caption": _real_medcaption,
    "vqa": _real_vqamed,
    "vqg": _real_vqamed,
}


# ---- running the README ------------------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def _run_file(out: Path) -> Path:
    files = [p for p in (out / "runs").iterdir() if not p.name.endswith((".json",))]
    assert len(files) == 1, files
    return files[0]


def _check_run_file(run_file: Path) -> list[str]:
    """Validates a run file against the data module that predicted it (from its provenance record) and
    returns the ids of its lines, in order."""
    record = json.loads(run_file.with_name(run_file.name + ".provenance.json").read_text())
    spec = get_task(record["task"])
    register_resolvers()
    datamodule = instantiate(OmegaConf.create(record["config"]["data"]))
    spec.parse_run(run_file, spec.reference_for(datamodule.prediction_set(), None))
    assert record["config"]["evaluation"] == EVALUATION_DEFAULTS  # left as train.yaml sets it: no ground truth
    ids = [re.split(r"[;\t|,]", line, maxsplit=1)[0] for line in run_file.read_text().splitlines()]
    return list(dict.fromkeys(ids))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_readme_real_data_commands(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = BUILD[name](tmp_path / "data")
    _run_readme(name, layout, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize("name", sorted(REAL_BUILD))
def test_readme_real_data_commands_on_real_images(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same commands on real radiology images and sketches: JPEGs as released, a JPEG named .png, and
    grayscale, palette, 16-bit, EXIF-rotated, transparent and odd-sized variants, with real QA lines and boxes."""
    layout = REAL_BUILD[name](tmp_path / "data")
    _run_readme(name, layout, tmp_path, monkeypatch, capsys)


def _run_readme(
    name: str, layout: Layout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs the README's commands of one experiment on `tmp_path/data`, as a user would, and checks each
    output: run files valid for the images predicted, covering `layout`'s ids; printed scores as scored."""
    data = tmp_path / "data"
    monkeypatch.chdir(tmp_path)  # the README's outputs/ folders (and paths.root_dir, `.`) land here
    monkeypatch.delenv("BASELINES_ROOT", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as on a machine without internet: nothing may be fetched
    released = _snapshot(data)
    extra = [*FAST, *(o.format(data=data) for o in TINY[name])]
    scored = False
    for command in readme_commands()[name]:
        argv = shlex.split(command.replace("$DATA", str(data)), comments=True)[1:]
        fresh = argv[0] == "train" or any(a.startswith("experiment=") for a in argv)
        capsys.readouterr()
        assert main([*argv, *extra] if fresh else argv) == 0, command
        printed = capsys.readouterr().out
        if argv[0] == "evaluate":
            spec = get_task(name)
            match = re.search(rf"^{re.escape(spec.primary_metric)}\s+(\S+)  \(primary\)$", printed, re.MULTILINE)
            assert match, printed
            gt = argv[argv.index("--gt") + 1]
            score = spec.evaluate_file(argv[3], spec.load_reference(gt, None))[spec.primary_metric]
            assert float(match.group(1)) == pytest.approx(score, abs=5e-5)
            scored = True
            continue
        out = tmp_path / next(a.split("=", 1)[1] for a in argv if a.startswith("hydra.run.dir="))
        ids = _check_run_file(_run_file(out))
        split = "val" if out.name.endswith(("-val", "-dev")) else "test"  # the README's naming of run folders
        expected = layout[name][split]
        ordered = name in ("vqa", "lmrt")  # a VQA run follows the questions' order; LMRT lines go topic by topic
        assert (ids if ordered else sorted(ids)) == expected
        if argv[0] == "train" and name != "lmrt":
            assert (out / "checkpoints/last.ckpt").is_file()
    assert scored == (name in SCORED)
    assert _snapshot(data) == released  # the official files are read only (caches go to paths.cache_dir)
