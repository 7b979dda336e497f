"""scripts/real_data: each converter on a tiny hand-made input in its source's layout; its output is read back
by the project's own readers (what the official-format pipeline reads). The floors on hand-computed cases."""

from __future__ import annotations

import importlib.util
import json
import re
import zipfile
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from baselines.callbacks import CpuBudget
from baselines.data.coral import read_coral_records
from baselines.data.detection import read_grouped_records
from baselines.io.formats.coral import CORAL_CLASSES, parse_coral_annotations
from baselines.io.formats.drawnui import DRAWNUI_CLASSES
from baselines.io.formats.medcaption import read_concepts, read_tab_file
from baselines.io.formats.vqamed import read_generated_questions, read_reference_questions
from baselines.tasks import get_task

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts" / "real_data"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"real_data_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png(path: Path, width: int, height: int, value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), value, np.uint8))


# ---- Sketch2Code -> drawnUI ------------------------------------------------------------------------------------


def _sketch2code(root: Path, tag: str = "ComboBox") -> Path:
    entries = []
    for i in range(5):
        _png(root / "images" / f"s{i}.png", 200, 100)
        regions = [
            {"tagName": "Button", "left": 0.1, "top": 0.2, "width": 0.25, "height": 0.3},
            {"tagName": tag, "left": 0.5, "top": 0.5, "width": 0.6, "height": 0.2},  # runs off the right edge
        ]
        entries.append({"id": f"s{i}", "width": 200, "height": 100, "regions": regions})
    (root / "dataset.json").write_text(json.dumps(entries))
    return root


def test_sketch2code_writes_drawnui_ground_truth(tmp_path: Path) -> None:
    module = _load("sketch2code")
    splits = module.convert(_sketch2code(tmp_path / "src"), tmp_path / "data", test_fraction=0.4, seed=0)
    assert len(splits["test"]) == 2 and len(splits["train"]) == 3
    assert not set(splits["test"]) & set(splits["train"])
    root = tmp_path / "data" / "drawnui"
    records = read_grouped_records(root / "train-set.csv", root / "train", DRAWNUI_CLASSES)
    assert sorted(r.image_id for r in records) == splits["train"]
    record = records[0]
    names = [DRAWNUI_CLASSES[label] for label in record.labels]
    assert sorted(names) == ["button", "dropdown"]
    boxes = dict(zip(names, record.boxes.tolist(), strict=True))
    assert boxes["button"] == [20, 20, 70, 50]  # 0.1*200, 0.2*100, +0.25*200, +0.3*100
    assert boxes["dropdown"] == [100, 50, 200, 70]  # clipped at the image's right edge
    truth = get_task("drawnui").read_ground_truth(root / "test-set.csv", None)
    assert sorted(truth) == splits["test"]


def test_sketch2code_refuses_an_unknown_tag(tmp_path: Path) -> None:
    module = _load("sketch2code")
    with pytest.raises(ValueError, match=r"entry 's0'.*tag 'Slider'"):
        module.convert(_sketch2code(tmp_path / "src", tag="Slider"), tmp_path / "data")
    assert not (tmp_path / "data" / "drawnui" / "train-set.csv").exists()


# ---- EilatMixx -> coral ----------------------------------------------------------------------------------------


def _eilat(root: Path, bad_value: int | None = None) -> Path:
    for split in ("train", "test"):
        labels = np.full((30, 40), 6, np.uint8)  # bare substrate
        labels[2:12, 3:23] = 3  # Acropora: x 3..22, y 2..11
        labels[15:28, 25:38] = 0  # Faviidae: x 25..37, y 15..27
        labels[0, :] = 255  # unlabelled
        if bad_value is not None:
            labels[29, 0] = bad_value
        _png(root / "images" / split / f"{split}_a.png", 40, 30)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "labels" / split / f"{split}_a.png"), labels)
    return root


def test_eilatmixx_writes_coral_annotations(tmp_path: Path) -> None:
    module = _load("eilatmixx")
    splits = module.convert(_eilat(tmp_path / "src"), tmp_path / "data", min_area=4, epsilon=0)
    assert splits == {"train": ["train_a"], "test": ["test_a"]}
    root = tmp_path / "data" / "coral"
    boxes, _ = parse_coral_annotations(root / "annotations_train_2020_boxes.cvs.txt", "box")
    found = {CORAL_CLASSES[r.label]: r.box for r in boxes["train_a"]}
    assert found == {"c_hard_coral_branching": (3, 2, 22, 11), "c_hard_coral_boulder": (25, 15, 37, 27)}
    polygons, _ = parse_coral_annotations(root / "annotations_train_2020_polygons.cvs.txt", "polygon")
    assert sorted(CORAL_CLASSES[r.label] for r in polygons["train_a"]) == sorted(found)
    # the training reader of the coral experiments reads them against the image folder
    records = read_coral_records(root / "annotations_train_2020_polygons.cvs.txt", root / "train", kind="polygon")
    assert [r.image_id for r in records] == ["train_a"]
    truth = get_task("coral_polygons").read_ground_truth(root / "annotations_test_2020_polygons.cvs.txt", None)
    assert sorted(truth) == ["test_a"]
    mask = cv2.imread(str(root / "test_masks" / "test_a.png"), cv2.IMREAD_UNCHANGED)
    assert mask[0, 0] == 255 and mask[20, 0] == 0
    assert mask[5, 5] == 1 + CORAL_CLASSES.index("c_hard_coral_branching")
    assert mask[20, 30] == 1 + CORAL_CLASSES.index("c_hard_coral_boulder")


def test_eilatmixx_refuses_unknown_label_values(tmp_path: Path) -> None:
    module = _load("eilatmixx")
    with pytest.raises(ValueError, match=r"train_a\.png: label values \[12\]"):
        module.convert(_eilat(tmp_path / "src", bad_value=12), tmp_path / "data")


# ---- MedPix 2.0 -> medical caption -----------------------------------------------------------------------------


def _medpix(root: Path) -> Path:
    rows = {
        "train": [
            ("MPX1_a", "CT", "CT - noncontrast", "Axial", "Chest"),
            ("MPX1_b", "MR", "MR - FLAIR", "Axial", "Brain"),
        ],
        "dev": [("MPX2_a", "CT", "CT - noncontrast", "Coronal", "Chest")],
        "test": [("MPX3_a", "MR", "MR - FLAIR", None, "Brain")],
    }
    for split, items in rows.items():
        lines = []
        for image, kind, modality, plane, location in items:
            _png(root / "images" / f"{image}.png", 24, 24)
            description = {"Caption": f"a\tcaption of\n {image}", "Modality": modality, "Plane": plane}
            lines.append(json.dumps({"Type": kind, "image": image, "Description": description, "Location": location}))
        (root / "splitted_dataset").mkdir(parents=True, exist_ok=True)
        (root / "splitted_dataset" / f"descriptions_{split}.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_medpix_writes_concepts_and_captions(tmp_path: Path) -> None:
    module = _load("medpix")
    splits = module.convert(_medpix(tmp_path / "src"), tmp_path / "data")
    assert splits == {"train": ["MPX1_a", "MPX1_b"], "val": ["MPX2_a"], "test": ["MPX3_a"]}
    root = tmp_path / "data" / "medcaption"
    names = dict(line.split("\t") for line in (root / "concept_names.tsv").read_text().splitlines())
    code = {label: c for c, label in names.items()}
    concepts = read_concepts(root / "train" / "concepts.txt")  # the official reader: CUIs only
    assert concepts["MPX1_a"] == [code["modality: CT - noncontrast"], code["plane: Axial"], code["location: Chest"]]
    assert read_concepts(root / "test" / "concepts.txt")["MPX3_a"] == [
        code["modality: MR - FLAIR"],
        code["location: Brain"],
    ]
    assert code["plane: Coronal"] == "C9200001"  # Axial, Coronal: ranked by name
    assert read_tab_file(root / "val" / "captions.txt", "caption") == {"MPX2_a": "a caption of MPX2_a"}
    assert (root / "train" / "images" / "DRMR" / "MPX1_b.png").is_file()
    assert sorted(get_task("concepts").read_ground_truth(root / "val" / "concepts.txt")) == ["MPX2_a"]


# ---- VQA-Med 2019 + VQG 2021 -> VQG ----------------------------------------------------------------------------


def test_vqg_layout_from_2019_questions_and_the_2021_zip(tmp_path: Path) -> None:
    module = _load("vqamed_vqg")
    training = tmp_path / "2019"
    (training / "Train_images").mkdir(parents=True)
    qa = []
    for i in range(4):
        _png(training / "Train_images" / f"synpic{i}.jpg", 16, 16)
        qa += [f"synpic{i}|what plane is this?|axial", f"synpic{i}|is this an mri?|no"]
    qa.append("synpic0|what  plane is this?|axial")  # the same question again: kept once
    (training / "All_QA_Pairs_train.txt").write_text("\n".join(qa) + "\n")
    archive = tmp_path / "vqg2021.zip"
    inner = "Task2-VQG-2021-TestSet-w-GroundTruth"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"{inner}/{module.REFERENCE}", "synpic90|Is the liver enlarged?|Where is the mass?")
        bundle.writestr(
            f"{inner}/Task2-VQGeneration2021-TestSet-Images/synpic90.jpg",
            cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes(),
        )
        bundle.writestr(f"__MACOSX/{inner}/._synpic90.jpg", b"\x00")
    splits = module.convert(training, archive, tmp_path / "data", val_fraction=0.25, seed=0)
    assert len(splits["val"]) == 1 and len(splits["train"]) == 3 and splits["test"] == ["synpic90"]
    root = tmp_path / "data" / "vqamed" / "vqg"
    train = read_generated_questions(root / "train" / "questions.txt")
    assert sorted(train) == splits["train"]
    assert all(questions == ["what plane is this?", "is this an mri?"] for questions in train.values())
    assert read_reference_questions(root / "test" / "questions.txt") == {
        "synpic90": ["Is the liver enlarged?", "Where is the mass?"]
    }
    assert sorted(p.name for p in (root / "test" / "images").iterdir()) == ["synpic90.jpg"]


# ---- floors ----------------------------------------------------------------------------------------------------


def test_constant_concepts_floor_is_the_best_constant_set(tmp_path: Path) -> None:
    floors = _load("floors")
    gt = tmp_path / "concepts.txt"
    # C1 on every image, C2 on 3 of 4, C3 on one: {C1, C2} has F1 (1 + 1 + 1 + 2/3) / 4; adding C3 lowers it
    gt.write_text("a\tC0000001;C0000002\nb\tC0000001;C0000002\nc\tC0000001;C0000002\nd\tC0000001;C0000003\n")
    _png(tmp_path / "test" / "DRCT" / "t.png", 8, 8)  # in a modality folder, as the converter writes them
    run = floors.constant_concepts(gt, tmp_path / "test", tmp_path / "floor.tsv")
    assert run.read_text() == "t\tC0000001;C0000002\n"


def test_pixel_scores_by_hand() -> None:
    floors = _load("floors")
    truth = {"a": np.array([[0, 0, 1, 255]], np.uint8)}
    predicted = {"a": np.array([[0, 1, 1, 1]], np.uint8)}
    scores = floors.pixel_scores(predicted, truth, 3)
    assert scores["pixel_accuracy"] == pytest.approx(2 / 3)  # the unlabelled pixel is left out
    assert scores["miou"] == pytest.approx((1 / 2 + 1 / 2) / 2)  # label 0: 1/2, label 1: 1/2; label 2 absent


def test_frequent_questions_floor(tmp_path: Path) -> None:
    floors = _load("floors")
    train = tmp_path / "questions.txt"
    train.write_text("a|q one?\na|q two?\nb|q one?\nc|q three?\nc|q one?\nc|q two?\n")
    _png(tmp_path / "test" / "x.jpg", 8, 8)
    assert (
        floors.frequent_questions(train, tmp_path / "test", tmp_path / "run.txt", k=2).read_text()
        == "x|q one?|q two?\n"
    )


# ---- precomputed CLIP features -> an embedding index (docs/performance.md's real-embedding rows) ----------------


def _unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, 8)).astype(np.float32)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float16)


def test_clip_features_become_an_index_with_held_out_queries(tmp_path: Path) -> None:
    from baselines.retrieval.index import EmbeddingIndex

    module = _load("clip_features")
    source = tmp_path / "features"
    source.mkdir()
    first, second = _unit_rows(6, 0), _unit_rows(5, 1)
    second[4] = first[2]  # an exact duplicate across videos: dropped, the first kept
    np.save(source / "L01_V001.npy", first)
    np.save(source / "L01_V002.npy", second)
    counts = module.convert(source, tmp_path / "index", queries=3, seed=0)
    assert counts == {"read": 11, "duplicates": 1, "indexed": 7, "queries": 3}
    index = EmbeddingIndex.load(tmp_path / "index")
    assert index is not None and len(index.ids) == 7 and "L01_V002/4" not in index.ids
    assert all(name.split("/")[0] in ("L01_V001", "L01_V002") for name in index.ids)
    indexed = np.asarray(index.embeddings, np.float32)
    queries = np.load(tmp_path / "index" / "queries.npy")
    assert queries.shape == (3, 8)
    every = np.concatenate([first, second[:4]]).astype(np.float32)  # the 10 distinct rows
    assert sorted(map(tuple, np.concatenate([indexed, queries]))) == sorted(map(tuple, every))  # held out, not lost


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.ones((3, 8), np.float16), "row 0 has norm 2.8284; unit-length embeddings were expected"),
        (np.zeros((2, 3, 8), np.float16), "a (frames, D) float16 or float32 array was expected"),
        (np.array([["a"] * 8]), "a (frames, D) float16 or float32 array was expected"),
    ],
)
def test_clip_features_refuse_what_is_not_unit_embeddings(tmp_path: Path, array: np.ndarray, expected: str) -> None:
    module = _load("clip_features")
    (tmp_path / "features").mkdir()
    np.save(tmp_path / "features" / "L01_V001.npy", _unit_rows(4, 0))
    np.save(tmp_path / "features" / "L01_V002.npy", array)
    with pytest.raises(SystemExit, match=re.escape(f"L01_V002.npy: {expected}")):
        module.convert(tmp_path / "features", tmp_path / "index", queries=1)
    assert not (tmp_path / "index").exists()  # everything is read and checked before anything is written


def test_clip_features_refuse_a_truncated_file_by_its_header(tmp_path: Path) -> None:
    module = _load("clip_features")
    (tmp_path / "features").mkdir()
    path = tmp_path / "features" / "L01_V001.npy"
    np.save(path, _unit_rows(4, 0))
    path.write_bytes(path.read_bytes()[:-16])
    with pytest.raises(SystemExit, match=re.escape("L01_V001.npy: 176 bytes, where its header says 192")):
        module.convert(tmp_path / "features", tmp_path / "index", queries=1)


# ---- the CPU budget of a training --------------------------------------------------------------------------------


class _Trainer:
    current_epoch = 0
    should_stop = False


def test_cpu_budget_stops_before_an_epoch_that_would_overrun(monkeypatch: pytest.MonkeyPatch) -> None:
    import baselines.callbacks as callbacks

    clock = iter([0.0, 10.0, 70.0, 70.0, 100.0])  # fit start; epoch 0: 10 -> 70 (60 s); epoch 1: 70 -> 100 (30 s)
    monkeypatch.setattr(callbacks, "cpu_seconds", lambda: next(clock))
    budget, trainer = CpuBudget(minutes=2.5), _Trainer()  # 150 s
    budget.on_fit_start(trainer, None)  # type: ignore[arg-type]
    budget.on_train_epoch_start(trainer, None)  # type: ignore[arg-type]
    budget.on_train_epoch_end(trainer, None)  # type: ignore[arg-type]
    assert not trainer.should_stop  # 70 used + 60 for the costliest epoch <= 150
    budget.on_train_epoch_start(trainer, None)  # type: ignore[arg-type]
    budget.on_train_epoch_end(trainer, None)  # type: ignore[arg-type]
    assert trainer.should_stop  # 100 used + 60 > 150
    with pytest.raises(ValueError, match="positive"):
        CpuBudget(minutes=0)
