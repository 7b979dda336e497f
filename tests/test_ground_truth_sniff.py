"""A ground truth of another task's grammar is refused by `evaluate` and `validate --gt`, naming the likely task
(`TaskSpec.sniff` / `check_ground_truth`), rather than scored (issue 28: VQA pairs as VQG references gave BLEU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from baselines.cli import main
from baselines.tasks import get_task, task_names
from baselines.tasks.base import SNIFF_LINES, head_lines

FIXTURES = Path(__file__).parent / "fixtures"
VQA_ANSWERS = FIXTURES / "real" / "vqamed" / "vqamed2021_test_reference_answers_4evaluator_lines1-4.txt"
VQG_QUESTIONS = FIXTURES / "real" / "vqamed" / "vqg2021_test_reference_questions_lines1-3.txt"
CONCEPTS = FIXTURES / "medcaption" / "concepts.txt"
QA_PAIRS = (
    "synpic100|what is abnormal in the ct scan?|pulmonary embolism\n"
    "synpic101|is this a t1 weighted image?|yes\n"
    "synpic102|in which plane is this image taken?|axial\n"
    "synpic103|what organ system is shown?|lung, mediastinum, pleura\n"
)
CAPTIONS = (
    "ROCO_CLEF_41341\tcomputed tomography of the chest showing a pulmonary embolism\n"
    "ROCO_CLEF_41342\taxial t1 weighted image of the brain\n"
    "ROCO_CLEF_41343\tchest x-ray with a right pleural effusion\n"
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "qa.txt").write_text(QA_PAIRS)
    (tmp_path / "captions.tsv").write_text(CAPTIONS)
    return {
        "vqa_qa_pairs": tmp_path / "qa.txt",
        "vqa_answers": VQA_ANSWERS,
        "vqg": VQG_QUESTIONS,
        "concepts": CONCEPTS,
        "caption": tmp_path / "captions.tsv",
    }


def _run(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.txt"
    path.write_text(text)
    return path


def test_vqa_pairs_as_vqg_references_are_refused_naming_vqa(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the case: a VQG run scored against the VQA QA pairs printed `bleu 0.0380`
    run = _run(
        tmp_path, "synpic100|what is abnormal?\nsynpic101|is this normal?\nsynpic102|which plane?\nsynpic103|what?\n"
    )
    assert main(["evaluate", "--task", "vqg", str(run), "--gt", str(files["vqa_qa_pairs"])]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no score printed
    assert "does not read as vqg ground truth" in err and "read as vqa ground truth" in err
    assert "Give --task vqa" in err


@pytest.mark.parametrize("command", ["evaluate", "validate"])
def test_vqa_answers_as_vqg_references_are_refused(
    command: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path, "synpic42072|is this normal?\n")
    assert main([command, "--task", "vqg", str(run), "--gt", str(files["vqa_answers"])]) == 2
    assert "read as vqa ground truth" in capsys.readouterr().err


def test_vqg_references_as_vqa_answers_are_refused_naming_vqg(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path, "synpic23572|yes\nsynpic16878|no\nsynpic38585|lumbar\n")
    assert main(["evaluate", "--task", "vqa", str(run), "--gt", str(files["vqg"])]) == 2
    assert "read as vqg ground truth" in capsys.readouterr().err


def test_concepts_as_caption_ground_truth_and_back(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both are `id<TAB>text`: what tells them apart is a second field made of CUIs (C + 7 digits) or of words.
    run = _run(tmp_path, "ROCO_CLEF_41341\ta chest ct\nROCO_CLEF_41342\tnormal\nROCO_CLEF_41343\tct\n")
    assert main(["evaluate", "--task", "caption", str(run), "--gt", str(files["concepts"])]) == 2
    assert "read as concepts ground truth" in capsys.readouterr().err
    concepts_run = _run(tmp_path, "ROCO_CLEF_41341\tC0033785\nROCO_CLEF_41342\t\nROCO_CLEF_41343\tC0040405\n")
    assert main(["evaluate", "--task", "concepts", str(concepts_run), "--gt", str(files["caption"])]) == 2
    assert "read as caption ground truth" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("task", "name"),
    [("vqa", "vqa_qa_pairs"), ("vqa", "vqa_answers"), ("vqg", "vqg"), ("concepts", "concepts"), ("caption", "caption")],
)
def test_each_tasks_own_ground_truth_reads_as_its_own_and_as_no_other(
    task: str, name: str, files: dict[str, Path]
) -> None:
    lines = head_lines(files[name], SNIFF_LINES)
    assert get_task(task).sniff(lines) is True
    assert [other for other in task_names() if other != task and get_task(other).sniff(lines)] == []
    get_task(task).check_ground_truth(files[name])  # accepted


def test_a_file_no_task_recognises_is_left_to_the_reader(tmp_path: Path) -> None:
    # concepts without any concept cannot tell concepts from captions: neither refuses it
    path = tmp_path / "empty_concepts.txt"
    path.write_text("ROCO_CLEF_1\t\nROCO_CLEF_2\t\n")
    for task in ("concepts", "caption"):
        assert get_task(task).sniff(head_lines(path, SNIFF_LINES)) is None
        get_task(task).check_ground_truth(path)
    # and the tasks without a sniff never refuse a file nor are named
    assert get_task("spll").sniff(["p01,0.5"]) is None


def test_the_right_task_still_scores(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run(tmp_path, "synpic100|pulmonary embolism\nsynpic101|yes\nsynpic102|axial\nsynpic103|lung\n")
    assert main(["evaluate", "--task", "vqa", str(run), "--gt", str(files["vqa_qa_pairs"])]) == 0
    assert "accuracy  0.7500  (primary)" in capsys.readouterr().out


@pytest.mark.parametrize("task", task_names())
@pytest.mark.parametrize("command", ["evaluate", "validate", "compare"])
def test_a_missing_ground_truth_is_named_as_every_missing_input_is(
    task: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the sniff read the file before the task's reader did, so a typo'd --gt path printed Python's
    # "[Errno 2] No such file or directory" while draw and export-coco said "file not found"
    run = _run(tmp_path, "x\n")
    missing = tmp_path / "no-such-gt.txt"
    runs = [str(run), str(run)] if command == "compare" else [str(run)]
    assert main([command, "--task", task, *runs, "--gt", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"invalid input (1 problem):\n{missing}: file not found\n"
