"""The real user's path: README.md's real-data commands, run as written on tiny files in the official layout.

Every other pipeline test composes `+demo=<task>` (synthetic layout, demo sizes). Here nothing of the demo is
used: each experiment's real-data config reads `$DATA/<task>/...` laid out as the organisers released it
(`configs/data/<task>.yaml`, docs/tasks/<task>.md), `evaluation.*` stays at its defaults, and the README's
commands run through the `baselines` entry point. The only additions are what makes them fast and offline:
random-init tiny networks (as a user without internet would set them), local word-level tokenizers, one
epoch of two batches, CPU. The synthetic generators write the official file formats; the files are moved
and renamed into the official layout here.
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
from baselines.data.synthetic import coral, drawnui, lifelog, medcaption, tuberculosis, vqamed
from baselines.tasks import get_task

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
_DETECTOR = (
    "model.net.backbone=resnet10t",
    "model.net.pretrained=false",
    "model.net.fpn_channels=16",
    "model.net.representation_size=32",
    "data.image_size=128",
    "data.batch_size=2",
)
_CAPTIONER = (
    "model.net.encoder=null",
    "model.net.decoder=null",
    "model.net.hidden_size=32",
    "model.net.encoder_layers=1",
    "model.net.decoder_layers=1",
    "model.net.attention_heads=2",
    "model.net.max_positions=32",
    "model.max_length=8",
    "data.image_size=32",
    "data.batch_size=4",
)
# Random-init tiny networks; `{weights}` is this test's folder of local files (tokenizers), as a user offline
# would point `model.tokenizer` at a local folder.
TINY: dict[str, tuple[str, ...]] = {
    "drawnui": _DETECTOR,
    "coral_boxes": _DETECTOR,
    "coral_polygons": (
        "model.net.encoder=tu-resnet10t",
        "model.net.encoder_weights=null",
        "model.net.encoder_depth=3",
        "model.net.decoder_channels=[16,16,16]",
        "data.image_size=128",
        "data.batch_size=2",
    ),
    "concepts": ("model.net.name=resnet10t", "model.net.pretrained=false", "data.image_size=32", "data.batch_size=4"),
    "caption": ("model.tokenizer={weights}/medcaption-tokenizer", *_CAPTIONER),
    "vqg": ("model.tokenizer={weights}/vqamed-tokenizer", *_CAPTIONER),
    "vqa": (
        "model.tokenizer={weights}/vqamed-tokenizer",
        "model.image_net.name=resnet10t",
        "model.image_net.pretrained=false",
        "model.text_net.name=null",
        "model.text_net.hidden_size=32",
        "model.text_net.layers=1",
        "model.text_net.attention_heads=2",
        "model.fusion_dim=32",
        "data.image_size=32",
        "data.batch_size=4",
    ),
    "lmrt": ("model.model_name=baselines-tiny-clip", "model.pretrained=null", "data.image_size=64"),
    "spll": (),
    "tbct": ("model.net.name=resnet10", "data.size=[8,16,16]", "data.batch_size=2"),
}


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


def _move(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(target))
    return target


def _crlf_without_final_newline(path: Path) -> None:
    """As the released coral annotation files are written."""
    path.write_bytes(path.read_bytes().rstrip(b"\n").replace(b"\n", b"\r\n"))


def _drawnui(data: Path, work: Path, weights: Path) -> Layout:
    drawnui.generate(work, n_train=4, n_test=2)
    root = data / "drawnui"
    _move(work / "train/annotations.csv", root / "train-set.csv")
    _move(work / "train/images", root / "train")
    _move(work / "test/images", root / "test")
    return {"drawnui": {"test": sorted(p.name for p in (root / "test").iterdir())}}


def _coral(data: Path, work: Path, weights: Path) -> Layout:
    coral.generate(work, n_train=4, n_test=2)
    root = data / "coral"
    for kind in ("boxes", "polygons"):
        _crlf_without_final_newline(
            _move(work / f"train/annotations_{kind}.txt", root / f"annotations_train_2020_{kind}.cvs.txt")
        )
    for split in ("train", "test"):
        for image in (work / split / "images").iterdir():  # the released images are `<img_id>.JPG`
            _move(image, root / split / f"{image.stem}.JPG")
    test = sorted(p.stem for p in (root / "test").iterdir())
    return {"coral_boxes": {"test": test}, "coral_polygons": {"test": test}}


def _medcaption(data: Path, work: Path, weights: Path) -> Layout:
    medcaption.generate(work, n_train=11, n_test=3, size=48)
    _move(work / "tokenizer", weights / "medcaption-tokenizer")
    root = data / "medcaption"
    val_ids: list[str] = []
    for kind in ("concepts", "captions"):
        lines = (work / f"train/{kind}.txt").read_text().splitlines(keepends=True)
        (root / "train").mkdir(parents=True, exist_ok=True)
        (root / "val").mkdir(parents=True, exist_ok=True)
        (root / f"train/{kind}.txt").write_text("".join(lines[:-3]))
        (root / f"val/{kind}.txt").write_text("".join(lines[-3:]))
        val_ids = [line.split("\t", 1)[0] for line in lines[-3:]]
    for image in sorted((work / "train/images").rglob("*.jpg")):
        split = "val" if image.stem in val_ids else "train"
        _move(image, root / split / "images" / image.parent.name / image.name)
    _move(work / "test/images", root / "test/images")
    test_ids = sorted(p.stem for p in (root / "test/images").rglob("*.jpg"))
    splits = {"val": sorted(val_ids), "test": test_ids}
    return {"concepts": splits, "caption": splits}


def _vqamed(data: Path, work: Path, weights: Path) -> Layout:
    vqamed.generate(work, n_train=11, n_test=3, size=32)
    _move(work / "tokenizer", weights / "vqamed-tokenizer")
    root = data / "vqamed"
    train = root / "VQA-TrainingSet-VQAMed2020-Task1"
    val = root / "VQA-ValidationSet-VQAMed2020-Task1"
    test = root / "VQA-TestSet-ReferenceAnswers-VQAMed2020-Task1"
    qa = (work / "train/qa.txt").read_text().splitlines(keepends=True)
    val_ids = [line.split("|", 1)[0] for line in qa[-3:]]
    for folder in (train, val, test, root / "vqg/train", root / "vqg/val"):
        folder.mkdir(parents=True)
    (train / "VQAnswering_2020_Train_QA_pairs.txt").write_text("".join(qa[:-3]))
    (val / "VQAnswering_2020_Val_QA_Pairs.txt").write_text("".join(qa[-3:]))
    vqg = (work / "train/vqg.txt").read_text().splitlines(keepends=True)
    (root / "vqg/train/questions.txt").write_text("".join(q for q in vqg if q.split("|", 1)[0] not in val_ids))
    (root / "vqg/val/questions.txt").write_text("".join(q for q in vqg if q.split("|", 1)[0] in val_ids))
    folders = {"train": train / "VQAnswering_2020_Train_images", "val": val / "VQAnswering_2020_Val_images"}
    for image in sorted((work / "train/images").iterdir()):
        split = "val" if image.stem in val_ids else "train"
        (root / "vqg" / split / "images").mkdir(parents=True, exist_ok=True)
        shutil.copy(image, root / "vqg" / split / "images" / image.name)  # VQG comes with its own images
        _move(image, folders[split] / image.name)
    _move(work / "test/questions.txt", test / "VQAMed2020-Task1-VQAnswering-Test-Questions.txt")
    _move(work / "test/answers.txt", test / "VQAMed2020-Task1-VQAnswering-Test-ReferenceAnswers.txt")
    shutil.copytree(work / "test/images", root / "vqg/test/images")
    _move(work / "test/images", test / "Task1-2020-VQAnswering-Test-Images")
    test_ids = [
        line.split("|", 1)[0]
        for line in (test / "VQAMed2020-Task1-VQAnswering-Test-Questions.txt").read_text().splitlines()
    ]
    return {
        "vqa": {"val": val_ids, "test": test_ids},  # in file order: a VQA run follows the questions' order
        "vqg": {"val": sorted(val_ids), "test": sorted(test_ids)},
    }


def _lifelog(data: Path, work: Path, weights: Path) -> Layout:
    lifelog.generate(work, n_events=8, size=32)
    root = data / "lifelog"
    _move(work / "images", root / "images")  # one folder per day, as released
    _move(work / "gt.txt", root / "ImageCLEF2020_dev_gt.txt")
    _move(work / "clusters.txt", root / "ImageCLEF2020_dev_clusters.txt")
    topics = (work / "topics.csv").read_text().splitlines(keepends=True)
    (root / "ImageCLEF2020_dev_topics.csv").write_text("".join(topics))
    (root / "ImageCLEF2020_test_topics.csv").write_text("".join(topics[:3]))  # other topics, also numbered from 1
    dev = [line.split(",", 1)[0] for line in topics[1:]]
    return {"lmrt": {"val": dev, "test": dev[:2]}}  # topics in file order


def _spll(data: Path, work: Path, weights: Path) -> Layout:
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


def _tuberculosis(data: Path, work: Path, weights: Path) -> Layout:
    tuberculosis.generate(work, n_train=6, n_test=2, size=24)
    root = data / "tuberculosis"
    for split, tag in (("train", "TRN"), ("test", "TST")):
        _move(work / split / "ct", root / f"CTR_{tag}_data")
        for masks in ("masks1", "masks2"):
            _move(work / split / masks, root / f"CTR_{tag}_{masks}")
    _move(work / "train/labels.csv", root / "CTR_TRN_labels.csv")
    return {"tbct": {"test": sorted(p.name for p in (root / "CTR_TST_data").iterdir())}}


BUILD: dict[str, Callable[[Path, Path, Path], Layout]] = {
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
    data, weights = tmp_path / "data", tmp_path / "weights"
    weights.mkdir()
    layout = BUILD[name](data, tmp_path / "generated", weights)
    monkeypatch.chdir(tmp_path)  # the README's outputs/ folders (and paths.root_dir, `.`) land here
    monkeypatch.delenv("BASELINES_ROOT", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as on a machine without internet: nothing may be fetched
    released = _snapshot(data)
    extra = [*FAST, *(o.format(weights=weights) for o in TINY[name])]
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
