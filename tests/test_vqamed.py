"""VQA-Med: the official evaluator's rules on hand-computed cases, the validators, the official files as
released (tests/fixtures/real/vqamed, sources in its SOURCES.md), VQA and VQG pipelines."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image

from baselines.data import vqamed as vqamed_data
from baselines.errors import FormatError, FormatWarning
from baselines.evaluation.vqamed import accuracy, bleu, bleu_words, normalize_answer, question_bleu, sentence_score
from baselines.io.formats.vqamed import read_answers, read_questions, read_reference_questions, read_test_ids
from baselines.io.images import find_images_by_stem
from baselines.pipeline import run
from baselines.tasks import get_task
from baselines.tasks.vqamed import VQAReference, VQASpec
from tasks import KITS

Compose = Callable[..., DictConfig]
REAL = Path(__file__).parent / "fixtures" / "real" / "vqamed"
TINY = (*KITS["vqa"].tiny, "data.loader.batch_size=4")


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  The two masses.", "2 masses"),
        ("Yes", "yes"),
        ("x-ray", "x ray"),
        ("1,000 cells", "1000 cells"),
        ("a cavity , left lung", "cavity left lung"),
        ("isnt it", "isn't it"),
        ("3.5 cm", "3.5 cm"),
        ("ten\tnodules\n", "10 nodules"),
    ],
)
def test_answer_normalisation(raw: str, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


def test_accuracy_exact_match_after_normalisation_rounded() -> None:
    truth = {"a": " Pulmonary embolism", "b": "yes", "c": "two", "d": "cyst#abscess"}
    run_answers = {"a": "pulmonary embolism.", "b": "no", "c": "2", "d": "abscess"}
    assert accuracy(run_answers, truth) == 0.75
    # alternatives as a list (the 2021 reference's extra `|` fields) count like `#` ones
    assert accuracy(run_answers, {**truth, "d": ["cyst", "abscess"]}) == 0.75
    assert accuracy({"a": "x"}, {"a": "x", "b": "y", "c": "z"}) == round(1 / 3, 4) == 0.3333


def test_bleu_preprocessing_without_downloads() -> None:
    # lowercase, punctuation removed, Treebank tokens ("cannot" -> can not), stopwords dropped, stems
    assert bleu_words("The lesions cannot be seen, in the X-ray!") == ["lesion", "seen", "xray"]


def test_one_word_exact_match_scores_one_only_with_the_legacy_semantics() -> None:
    assert sentence_score("Embolism", "embolism", "legacy") == 1.0
    assert sentence_score("Embolism", "embolism", "nltk") < 1e-100  # NLTK >= 3.4: zero-count orders -> ~0


def test_legacy_bleu_by_hand() -> None:
    # "pleural effusion" vs "effusion": p1 = 1/1 kept, p2 = 0 dropped; brevity penalty exp(1 - 2/1)
    assert sentence_score("effusion", "pleural effusion") == pytest.approx(math.exp(-1))
    # two words in the wrong order: p1 = 2/2, the bigram order is dropped, no brevity penalty
    assert sentence_score("opacity round", "round opacity") == pytest.approx(1.0)
    # 5/5 unigrams, 2/4 bigrams, 1/3 trigrams ("left lower lobe"), no 4-gram (dropped): (1 * 1/2 * 1/3) ** (1/4)
    assert sentence_score("left lower lobe pneumonia mass", "left lower lobe mass pneumonia") == pytest.approx(
        (1 * 1 / 2 * 1 / 3) ** 0.25
    )


def test_stopword_only_answers_and_empty_cases() -> None:
    assert sentence_score("no", "no") == 1.0  # both empty after stopword removal
    assert sentence_score("no", "yes") == 0.0
    assert sentence_score("yes", "no") == 0.0


def test_bleu_alternatives_mean_and_rounding() -> None:
    truth = {"a": "cyst#abscess", "b": "round opacity", "c": "nodule"}
    run_answers = {"a": "abscess", "b": "opacity", "c": "mass"}
    expected = (1.0 + math.exp(1 - 2) + 0.0) / 3
    assert bleu(run_answers, truth) == round(expected, 4)


def test_question_bleu_takes_the_best_pair_per_image() -> None:
    # the official 2021 VQG evaluator: max over all (generated, reference) pairs, mean over reference images
    truth = {"a": ["Is the appendix enlarged?", "What calcified deposits are seen in the CT?"], "b": ["is it normal?"]}
    issue = {"a": ["Is the appendix enlarged?", "what is shown in this image?"], "b": ["where is the lesion?"]}
    assert question_bleu(issue, truth) == 0.5  # a: 1.0 (not the mean 0.5 of its two questions); b: 0
    # "appendix enlarged" vs "appendix normal": p1 1/2, no bigram (dropped), no brevity penalty
    assert question_bleu({"a": ["is the appendix normal?"]}, {"a": truth["a"]}) == round(0.5**0.25, 4)
    assert question_bleu({}, truth) == 0.0
    # an empty generated question matches only an empty reference question (both empty: 1)
    assert question_bleu({"a": ["", "where?"]}, {"a": ["what is it?", ""]}) == 1.0


@pytest.mark.parametrize("name", ["vqa", "vqg"])
def test_fast_dev_run(demo_cfg: Compose, name: str) -> None:
    cfg = demo_cfg(name, *TINY, "debug=fast_dev_run")
    instantiate(cfg.synthetic)
    lines = Path(run(cfg)["run_file"]).read_text().splitlines()
    assert len(lines) == 4 and all(line.startswith("synpic9000") for line in lines)


def test_upper_case_extensions_are_predicted_and_expected(demo_cfg: Compose) -> None:
    cfg = demo_cfg("vqg", *TINY, "debug=fast_dev_run")
    instantiate(cfg.synthetic)
    folder = Path(cfg.data.predict_images)
    first = sorted(folder.iterdir())[0]
    first.rename(first.with_suffix(".JPG"))  # the same rule (file stem, any extension in any case) everywhere
    datamodule = instantiate(cfg.data)
    ids = datamodule.prediction_set().ids
    assert first.stem in ids and len(ids) == 4
    assert first.stem in get_task("vqg").load_reference(None, folder).order
    lines = Path(run(cfg)["run_file"]).read_text().splitlines()
    assert any(line.startswith(f"{first.stem}|") for line in lines)


def test_vqa_run_is_in_test_order_validated_and_scored(demo_cfg: Compose) -> None:
    cfg = demo_cfg("vqa", *TINY, "trainer.max_epochs=1")
    instantiate(cfg.synthetic)
    summary = run(cfg)
    assert set(summary["scores"]) == {"accuracy", "bleu"}
    ids = [line.split("|")[0] for line in Path(summary["run_file"]).read_text().splitlines()]
    questions = Path(cfg.data.predict_questions).read_text().splitlines()
    assert ids == [q.split("|")[0] for q in questions]


def test_reference_layouts_are_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "truth.txt"
    path.write_text("s1|what is abnormal in the ct scan?|cyst#abscess\ns2|is this image normal?|no\n")
    assert read_answers(path) == {"s1": ["cyst", "abscess"], "s2": ["no"]}  # QA pairs: the answer field
    assert read_answers(path, "answers")["s2"] == ["is this image normal?", "no"]  # said explicitly
    path.write_text("s1|cyst|abscess\ns2|mass|tumour\n")
    assert read_answers(path) == {"s1": ["cyst", "abscess"], "s2": ["mass", "tumour"]}
    with pytest.raises(FormatError, match=r"expected 'image_id\|question\|answer'"):
        path.write_text("s1|what is it?|cyst\ns2|no\n")
        read_answers(path, "qa_pairs")
    # a question without '?' still reads as a question (it starts with a question word)
    path.write_text("s1|what is abnormal in the ct scan|cyst\ns2|is this normal?|no\n")
    assert read_answers(path) == {"s1": ["cyst"], "s2": ["no"]}
    # 3 fields everywhere, a question on some lines only: refused, with the way out
    path.write_text("s1|what is abnormal?|cyst\ns2|cyst|abscess\n")
    with pytest.raises(FormatError, match=r"question on 1 lines \(e.g. line 1\) but not on 1 \(e.g. line 2\)"):
        read_answers(path)
    assert VQASpec(reference_layout="answers").load_reference(path, None).ground_truth == {
        "s1": ["what is abnormal?", "cyst"],
        "s2": ["cyst", "abscess"],
    }


def test_validation_split_qa_pairs_as_ground_truth_of_a_real_run(tmp_path: Path) -> None:
    # HCP-MIC's predictions on the 2020 validation set (their prediction.txt, lines 27-31) against those images'
    # QA pairs in the split's own layout `image_id|question|answer`; the questions and answers are the 2020
    # validation set's, as HCP-MIC copied them into JSON (haifangong/HCP-MIC-at-ImageCLEF-VQA-Med-2020@0afff11a,
    # BBN-BioBert-Inference/data/valset.json, qid 26-30)
    truth = (
        "synpic20410|is this a normal ct scan?|no\n"
        "synpic53133|is there an abnormality in the x-ray?|yes\n"
        "synpic27031|what is abnormal in the ct scan?|pancoast tumor\n"
        "synpic27334|what is the primary abnormality in this image?|spine, epidural abscess\n"
        "synpic41499|what abnormality is seen in the image?|renal oncocytoma\n"
    )
    spec = get_task("vqa")
    path = tmp_path / "VQAnswering_2020_Val_QA_Pairs.txt"
    path.write_text(truth)
    reference = spec.load_reference(path, None)
    assert reference.order == ["synpic20410", "synpic53133", "synpic27031", "synpic27334", "synpic41499"]
    scores = spec.evaluate_file(REAL / "vqamed2020_val_run_HCP-MIC_lines27-31.txt", reference)
    # no, yes and renal oncocytoma are right (BLEU 1 each; "no" is a stopword on both sides: both empty, 1);
    # the two other answers share no word with the truth
    assert scores == {"accuracy": 0.6, "bleu": 0.6}


def test_2021_reference_answers_with_alternatives_as_ground_truth(tmp_path: Path) -> None:
    # abachaa/VQA-Med-2021 Task1-VQAnswering2021-Test-ReferenceAnswers-4Evaluator.txt, lines 1-4: 1 to 3 answers a
    # line; the 2021 evaluator reads row[1:] as the accepted answers
    path = REAL / "vqamed2021_test_reference_answers_4evaluator_lines1-4.txt"
    truth = read_answers(path)
    assert [len(alternatives) for alternatives in truth.values()] == [3, 1, 2, 2]
    run_file = tmp_path / "run.txt"
    run_file.write_text(
        "synpic42072|Avascular necrosis of femoral heads bilaterally with associated osteoarthritic changes\n"
        "synpic37231|pulmonary embolism\n"
        "synpic51484|osteosclerotic lesions\n"
        "synpic15699|aortitis\n"
    )
    spec = get_task("vqa")
    assert spec.evaluate_file(run_file, spec.load_reference(path, None)) == {"accuracy": 0.75, "bleu": 0.75}
    # the test-set order comes from the reference when no questions file is given
    run_file.write_text(run_file.read_text().splitlines(keepends=True)[1] + "synpic42072|x\n" * 3)
    with pytest.raises(FormatError, match="expected image 'synpic42072' on this line"):
        spec.evaluate_file(run_file, spec.load_reference(path, None))


def test_2021_vqg_files_as_released(tmp_path: Path) -> None:
    # abachaa/VQA-Med-2021: the VQG test set lists bare image ids; the references hold 3-5 questions an image
    ids = REAL / "vqg2021_test_image_ids_lines1-3.txt"
    references = REAL / "vqg2021_test_reference_questions_lines1-3.txt"
    assert read_test_ids(ids) == ["synpic23572", "synpic16878", "synpic38585"]
    assert [len(q) for q in read_reference_questions(references).values()] == [5, 3, 4]
    spec = get_task("vqg")
    reference = spec.load_reference(references, ids)
    run_file = tmp_path / "run.txt"
    run_file.write_text(
        "synpic38585|Is the spondyloarthropathy of the lumbosacral spine significant?\n"  # the reference has 2 spaces
        "synpic23572|Where is fat stranding located?|what is shown in this image?\n"
        "synpic16878|What is this?\n"  # stopwords only: 0 against every reference question
    )
    assert spec.evaluate_file(run_file, reference) == {"bleu": round(2 / 3, 4)}


def test_vqg_empty_questions_are_scored_as_the_official_evaluator_with_a_warning(tmp_path: Path) -> None:
    references = tmp_path / "references.txt"
    references.write_text("s1|Is the appendix enlarged?|\ns2|what organ is this?\ns2|is it normal?\n")
    with pytest.warns(FormatWarning) as caught:
        truth = read_reference_questions(references)
    assert truth == {"s1": ["Is the appendix enlarged?", ""], "s2": ["what organ is this?", "is it normal?"]}
    assert "references.txt:1: empty reference question" in str(caught[0].message)
    assert "'s2' on lines 2 and 3" in str(caught[1].message)
    run_file = tmp_path / "run.txt"
    run_file.write_text("s1|what is this?|\ns2|is it normal?||\n")
    with pytest.warns(FormatWarning) as caught:
        parsed = get_task("vqg").parse_run(run_file, VQAReference(["s1", "s2"]))
    assert [str(w.message).split(": ")[0][-len("run.txt:1") :] for w in caught] == ["run.txt:1", "run.txt:2"]
    assert all("empty question" in str(w.message) for w in caught)
    assert parsed == {"s1": ["what is this?", ""], "s2": ["is it normal?", "", ""]}
    assert question_bleu(parsed, truth) == 1.0  # s1: stopwords only vs the empty reference question


def test_run_validators_accept_the_writers_output_without_warnings(tmp_path: Path) -> None:
    path = tmp_path / "run.txt"
    for name, predictions in [
        ("vqa", [{"id": "s1", "answer": "yes"}, {"id": "s2", "answer": ""}]),
        ("vqg", [{"id": "s1", "texts": ["what is it?", ""]}, {"id": "s2", "texts": []}]),
    ]:
        spec = get_task(name)
        path.write_text(spec.format_run(predictions))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            spec.parse_run(path, VQAReference(["s1", "s2"]))


def test_a_validation_split_is_predicted_from_its_qa_pairs(tmp_path: Path) -> None:
    # `VQAnswering_2020_Val_QA_Pairs.txt` is `image_id|question|answer`: as a questions file, its answers are unread
    pairs = tmp_path / "VQAnswering_2020_Val_QA_Pairs.txt"
    pairs.write_text("synpic1|what is abnormal in the ct scan?|cavity\nsynpic2|is this a t1 weighted mri?|no\n")
    assert read_questions(pairs) == [
        ("synpic1", "what is abnormal in the ct scan?"),
        ("synpic2", "is this a t1 weighted mri?"),
    ]
    pairs.write_text("synpic1|what?|a|b\nsynpic2\n")
    with pytest.raises(FormatError) as error:
        read_questions(pairs)
    assert [p.line for p in error.value.problems] == [1, 2]
    assert "expected 'image_id|question' (test questions) or 'image_id|question|answer'" in str(error.value)


def test_bare_test_ids_are_stripped_kept_in_order_and_unique(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(" s2 \n\ns1\n")
    assert read_test_ids(ids) == ["s2", "s1"]
    ids.write_text("s2\ns1\n s2\ns1\n")
    with pytest.raises(FormatError) as raised:
        read_test_ids(ids)
    assert [(p.line, p.message) for p in raised.value.problems] == [
        (3, "duplicate image 's2' (first on line 1)"),
        (4, "duplicate image 's1' (first on line 2)"),
    ]


def test_a_predict_split_walks_its_image_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("b.JPG", "a.png"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / name)
    walks = []

    def counted(folder: Path) -> dict[str, Path]:
        walks.append(folder)
        return find_images_by_stem(folder)

    monkeypatch.setattr(vqamed_data, "find_images_by_stem", counted)
    data = vqamed_data.VQAMedDataModule("vqg", "unused.txt", str(tmp_path), str(tmp_path), on_bad_image="skip")
    dataset = data.build_dataset("predict")
    assert walks == [tmp_path] and dataset.files == {"a": tmp_path / "a.png", "b": tmp_path / "b.JPG"}
    questions = tmp_path / "questions.txt"
    questions.write_text("a|what is shown?\nc|is it normal?\n")
    data = vqamed_data.VQAMedDataModule(
        "vqa", "unused.txt", str(tmp_path), str(tmp_path), str(questions), on_bad_image="skip"
    )
    assert data.build_dataset("predict").ids == ["a"]
    assert data.skipped["predict"] == [f"{tmp_path / 'c.jpg'}: file not found"]
