"""VQA-Med 2019 as released: four questions per image, question categories, type routing, per-category runs.

The tiny release below has the 2019 layout (configs/data/vqa2019.yaml) and its question kinds: modality
questions that ask yes/no ("is this a t1 weighted image?") and ones that start the same way but offer
alternatives ("is this a contrast or noncontrast ct?" -> "noncontrast"), plane, organ and abnormality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from PIL import Image

from baselines.config import compose_config
from baselines.data.base import collate_dicts
from baselines.models.vqa import flatten_questions
from baselines.pipeline import run
from baselines.tasks import get_task
from baselines.text.tokenizers import train_word_tokenizer
from conftest import TINY_VQA_NET, train_steps

# (category, question, answer for a dark image, answer for a bright one): a learnable rule per category
QUESTIONS = [
    ("modality", "is this a contrast or noncontrast ct?", "noncontrast", "contrast"),
    ("modality", "is this a t1 weighted image?", "no", "yes"),
    ("plane", "in what plane is this image oriented?", "axial", "sagittal"),
    ("organ", "what organ system is shown in the image?", "skull and contents", "musculoskeletal"),
    ("abnormality", "what is the primary abnormality in this image?", "meningioma", "fracture"),
]
FILES = {"modality": "C1_Modality", "plane": "C2_Plane", "organ": "C3_Organ", "abnormality": "C4_Abnormality"}
TINY = (
    *TINY_VQA_NET,
    "data.augmentations=[]",
    "data.loader.num_workers=0",
    "data.loader.pin_memory=false",
    "data.loader.persistent_workers=false",
    "trainer=cpu",
    "trainer.max_epochs=1",
)


def _write_split(folder: Path, split: str, images: int, offset: int) -> None:
    """`All_QA_Pairs_<split>.txt` (four questions per image, the modality one alternating between the
    two modality questions), `QAPairsByCategory/`, `<Split>_images/`."""
    (folder / "QAPairsByCategory").mkdir(parents=True)
    pictures = folder / ("Train_images" if split == "train" else "Val_images")
    pictures.mkdir()
    lines: dict[str, list[str]] = {name: [] for name in FILES}
    for k in range(images):
        image_id = f"synpic{offset + k}"
        bright = k % 2
        Image.fromarray(np.full((40, 48, 3), 200 if bright else 30, np.uint8)).save(pictures / f"{image_id}.jpg")
        asked = [QUESTIONS[(k // 2) % 2], *QUESTIONS[2:]]
        for category, question, dark, light in asked:
            lines[category].append(f"{image_id}|{question}|{light if bright else dark}\n")
    for category, name in FILES.items():
        (folder / "QAPairsByCategory" / f"{name}_{split}.txt").write_text("".join(lines[category]))
    interleaved = [line for group in zip(*lines.values(), strict=True) for line in group]
    (folder / f"All_QA_Pairs_{split}.txt").write_text("".join(interleaved))


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """`$DATA` with `vqamed2019/` laid out as released, and a word tokenizer of its questions."""
    root = tmp_path / "data" / "vqamed2019"
    _write_split(root / "ImageClef_2019_Training", "train", images=8, offset=1000)
    _write_split(root / "ImageClef_2019-VQA_Validation", "val", images=4, offset=2000)
    train_word_tokenizer([q for _, q, _, _ in QUESTIONS], tmp_path / "tokenizer")
    return tmp_path


def _config(root: Path, *overrides: str):
    validation = root / "data/vqamed2019/ImageClef_2019-VQA_Validation"
    return compose_config(
        "train",
        [
            "experiment=vqa",
            "data=vqa2019",
            f"paths.data_dir={root / 'data'}",
            f"paths.output_dir={root / 'out'}",
            f"model.tokenizer={root / 'tokenizer'}",
            f"data.predict_questions={validation / 'QAPairsByCategory/C1_Modality_val.txt'}",
            f"data.predict_images={validation / 'Val_images'}",
            *TINY,
            *overrides,
        ],
    )


def test_release_is_read_with_four_questions_per_image_and_typed(release: Path) -> None:
    datamodule = instantiate(_config(release).data)
    train = datamodule.dataset("train")
    assert len(train) == 8  # one item per image, with its four questions
    item = train[0]
    assert item["id"] == "synpic1000" and len(item["question"]) == 4
    assert item["question_type"] == ["modality", "plane", "organ", "abnormality"]
    assert train[2]["question_type"][0] == "yes/no"  # "is this a t1 weighted image?" -> no
    assert datamodule.answer_types["modality"] == ["contrast", "noncontrast"]
    assert datamodule.answer_types["yes/no"] == ["no", "yes"]
    assert len(datamodule.dataset("val")) == 16  # validation: one row per question, in file order


def test_alternatives_questions_are_answered_with_their_alternatives(release: Path) -> None:
    torch.manual_seed(0)
    cfg = _config(release)
    datamodule = instantiate(cfg.data)
    module = instantiate(cfg.model)
    module.build_head(datamodule.answers, datamodule.answer_types)
    batch = collate_dicts([datamodule.dataset("train")[i] for i in range(8)])
    calls: list[int] = []
    module.image_net.register_forward_hook(lambda _m, inputs, _o: calls.append(len(inputs[0])))
    losses = train_steps(module, batch, steps=60, lr=3e-3)
    assert calls[0] == 8  # the image network runs once per image, not once per question (32)
    # the true answer is never routed out in training: the first loss is an ordinary cross-entropy, not ~1e37
    assert losses[0] < 20 and losses[-1] < 0.1
    questions, truth, _, image_index = flatten_questions(batch)
    module.eval()
    with torch.no_grad():
        answers = module.answer(module(batch["image"], questions, image_index=image_index))
    assert answers == truth
    asked = [a for q, a in zip(questions, answers, strict=True) if q.startswith("is this a contrast")]
    assert asked and set(asked) <= {"contrast", "noncontrast"}


def test_a_category_file_of_the_validation_split_is_predicted_validated_and_scored(release: Path) -> None:
    validation = release / "data/vqamed2019/ImageClef_2019-VQA_Validation"
    truth = validation / "QAPairsByCategory/C3_Organ_val.txt"
    cfg = _config(
        release, f"data.predict_questions={truth}", f"evaluation.ground_truth={truth}", "trainer.max_epochs=2"
    )
    summary = run(cfg)
    lines = Path(summary["run_file"]).read_text().splitlines()
    assert [line.split("|")[0] for line in lines] == [f"synpic{2000 + k}" for k in range(4)]
    assert {line.split("|")[1] for line in lines} <= {"skull and contents", "musculoskeletal"}  # organ answers
    spec = get_task("vqa")
    scores = spec.evaluate_file(summary["run_file"], spec.load_reference(truth, None))
    assert scores == summary["scores"] and 0.0 <= scores["accuracy"] <= 1.0


def test_several_training_files_each_with_its_folder(release: Path) -> None:
    training = release / "data/vqamed2019/ImageClef_2019_Training"
    validation = release / "data/vqamed2019/ImageClef_2019-VQA_Validation"
    cfg = _config(
        release,
        f"data.train_file=[{training / 'All_QA_Pairs_train.txt'},{validation / 'All_QA_Pairs_val.txt'}]",
        f"data.train_images=[{training / 'Train_images'},{validation / 'Val_images'}]",
    )
    datamodule = instantiate(cfg.data)
    assert len(datamodule.dataset("train")) == 12
    # the validation file's questions have no category file here: typed by their answers only
    assert "open" in datamodule.answer_types
    with pytest.raises(InstantiationException, match="2 folders for 3 training files"):
        instantiate(
            cfg.data,
            train_file=[str(training / "All_QA_Pairs_train.txt")] * 3,
            train_images=[str(training / "Train_images")] * 2,
        )


def test_a_checkpoint_of_other_question_types_is_refused(release: Path) -> None:
    cfg = _config(release)
    datamodule = instantiate(cfg.data)
    trained = instantiate(cfg.model)
    trained.build_head(datamodule.answers, datamodule.answer_types)
    checkpoint: dict = {"state_dict": trained.state_dict()}
    trained.on_save_checkpoint(checkpoint)
    assert checkpoint["question_types"] == ["abnormality", "modality", "organ", "plane", "yes/no"]
    untyped = instantiate(cfg.model)
    untyped.build_head(datamodule.answers)  # no category files: yes/no and open
    with pytest.raises(ValueError, match=r"routes questions by the types \['abnormality'"):
        untyped.on_load_checkpoint(checkpoint)


def test_an_image_asked_four_questions_is_checked_and_reported_once(release: Path) -> None:
    (release / "data/vqamed2019/ImageClef_2019_Training/Train_images/synpic1003.jpg").write_bytes(b"not a jpeg")
    datamodule = instantiate(_config(release, "data.on_bad_image=skip").data)
    train = datamodule.dataset("train")
    assert len(train) == 7 and "synpic1003" not in train.ids  # all four of its questions left out
    assert len(datamodule.skipped["train"]) == 1 and "synpic1003.jpg" in datamodule.skipped["train"][0]
