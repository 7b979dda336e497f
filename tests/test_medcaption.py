"""Medical caption: concept files, the strict run-file validator, the official F1, captions, pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.metrics import f1_score

from baselines.errors import FormatError, FormatWarning
from baselines.evaluation.medcaption import caption_scores, concept_f1
from baselines.io.formats.medcaption import build_vocabulary, read_concepts
from baselines.models.multilabel import decide, per_image_f1
from baselines.pipeline import run
from baselines.tasks import get_task
from baselines.tasks.medcaption import CaptionReference
from tasks import KITS

FIXTURES = Path(__file__).parent / "fixtures" / "medcaption"
Compose = Callable[..., DictConfig]
TINY = (*KITS["concepts"].tiny, "data.loader.batch_size=4")


def test_official_concept_file_parses_uppercased_with_empty_lists() -> None:
    assert read_concepts(FIXTURES / "concepts.txt") == {
        "ROCO_CLEF_41341": ["C0033785", "C0035561"],
        "ROCO_CLEF_41342": [],
        "ROCO_CLEF_41343": ["C0040405"],
    }


def test_vocabulary_is_by_frequency_then_name_with_cut_off() -> None:
    labels = {"a": ["C2", "C1"], "b": ["C2", "C3"], "c": ["C3"]}
    assert build_vocabulary(labels) == ["C2", "C3", "C1"]
    assert build_vocabulary(labels, min_frequency=2) == ["C2", "C3"]


REFERENCE = CaptionReference(ids={"a", "b", "c"})


def test_concept_f1_by_hand_and_against_sklearn() -> None:
    truth = {"a": ["C1", "C2"], "b": [], "c": ["C3", "C4", "C5"], "d": ["C6"]}
    run = {"a": ["c1", "C9"], "b": ["C1"], "c": ["C3", "C4", "C5"], "d": []}
    # a: P 1/2, R 1/2 -> 0.5; b skipped (empty truth); c: 1; d: 0 -> (0.5 + 1 + 0) / 3
    assert concept_f1(run, truth) == pytest.approx(0.5)
    for image_id in ("a", "c"):
        union = sorted({c.upper() for c in truth[image_id] + run[image_id]})
        expected = f1_score(
            [c in truth[image_id] for c in union], [c in {x.upper() for x in run[image_id]} for c in union]
        )
        assert concept_f1({image_id: run[image_id]}, {image_id: truth[image_id]}) == pytest.approx(expected)


def test_module_f1_agrees_with_the_evaluator() -> None:
    selected = torch.tensor([[1, 0, 1], [0, 0, 0], [1, 1, 1]], dtype=torch.bool)
    targets = torch.tensor([[1, 1, 0], [0, 0, 0], [0, 0, 1]], dtype=torch.bool)
    names = ["C0", "C1", "C2"]

    def as_sets(matrix: torch.Tensor) -> dict[str, list[str]]:
        return {str(i): [names[j] for j in range(3) if matrix[i, j]] for i in range(3)}

    assert float(per_image_f1(selected, targets)) == pytest.approx(concept_f1(as_sets(selected), as_sets(targets)))


def test_decision_rule_caps_and_fills() -> None:
    probabilities = torch.tensor([[0.9, 0.8, 0.7, 0.1], [0.2, 0.3, 0.1, 0.05]])
    selected = decide(probabilities, torch.full((4,), 0.5), top_k=2, min_labels=1)
    assert selected.tolist() == [[True, True, False, False], [False, True, False, False]]


def test_caption_scores_are_sacrebleu_corpus_scores() -> None:
    truth = {"a": "x-ray showing a small nodule", "b": "ct scan showing a cavity"}
    assert caption_scores(truth, truth) == pytest.approx({"bleu": 1.0, "chrf": 1.0})
    assert caption_scores({"a": "", "b": ""}, truth)["bleu"] == 0.0


def test_caption_run_validator(tmp_path: Path) -> None:
    path = tmp_path / "run.tsv"
    path.write_text("a\tx-ray showing a cavity\nb\tone\ttwo\n")
    with pytest.raises(FormatError, match=r"run.tsv:2: 3 tab-separated fields"):
        get_task("caption").parse_run(path, REFERENCE)


def test_concepts_fast_dev_run(demo_cfg: Compose) -> None:
    cfg = demo_cfg("concepts", *TINY, "debug=fast_dev_run")
    instantiate(cfg.synthetic)
    summary = run(cfg)
    lines = Path(summary["run_file"]).read_text().splitlines()
    assert len(lines) == 4 and all(line.startswith("SYNTH_TEST_") and "\t" in line for line in lines)


def test_concepts_train_then_predict_from_checkpoint(demo_cfg: Compose, tmp_path: Path) -> None:
    cfg = demo_cfg("concepts", *TINY, "trainer.max_epochs=1")
    instantiate(cfg.synthetic)
    trained = run(cfg)
    assert "f1" in trained["scores"]
    state = torch.load(trained["checkpoint"], map_location="cpu", weights_only=True)
    assert state["vocabulary"][0] in ("C0000101", "C0000102")
    predicted = run(demo_cfg("concepts", *TINY, "train=false", f"ckpt_path={trained['checkpoint']}", output="again"))
    assert Path(predicted["run_file"]).read_bytes() == Path(trained["run_file"]).read_bytes()
    # a checkpoint whose vocabulary does not match the data is refused, with what to do
    with pytest.raises(ValueError, match="same training file"):
        run(
            demo_cfg(
                "concepts",
                *TINY,
                "train=false",
                "data.min_concept_frequency=3",
                f"ckpt_path={trained['checkpoint']}",
                output="mismatch",
            )
        )


def test_concepts_validator_accepts_what_the_official_accepts_and_warns(tmp_path: Path) -> None:
    # crowdAI/CLEF_evaluators_2018 concept_detection: entries are scored as written (uppercased), so an empty one
    # or one with spaces is a false positive; case variants pass; the project warns about each
    path = tmp_path / "run.tsv"
    path.write_text("a\tC0000001;;c0000002;C0000002\nb\tC0000003 ; C0000004;C0000004\nc\n")
    with pytest.warns(FormatWarning) as caught:
        parsed = get_task("concepts").parse_run(path, REFERENCE)
    assert parsed == {
        "a": ["C0000001", "", "C0000002", "C0000002"],
        "b": ["C0000003 ", " C0000004", "C0000004"],
        "c": [],
    }
    messages = [str(w.message) for w in caught]
    assert any("run.tsv:1: empty concept" in m for m in messages), messages
    assert any("run.tsv:1: c0000002 and C0000002: the same concept in different letter cases" in m for m in messages)
    assert any("run.tsv:2: concept(s) 'C0000003 ', ' C0000004' with spaces" in m for m in messages), messages
    truth = {"a": ["C0000001", "C0000002"], "b": ["C0000003", "C0000004"], "c": ["C0000005"]}
    # a: {C0000001, '', C0000002} -> P 2/3, R 1 -> 0.8; b: only the unpadded C0000004 -> P 1/3, R 1/2 -> 0.4; c: 0
    assert concept_f1(parsed, truth) == pytest.approx((0.8 + 0.4 + 0) / 3)


def test_concepts_validator_warns_instead_of_refusing(tmp_path: Path) -> None:
    path = tmp_path / "run.tsv"
    many = ";".join(f"C{i:07d}" for i in range(101))
    path.write_text(f"a\t{many}\nb\t\nc\tC0000003\n")
    with pytest.warns(FormatWarning, match="run.tsv:1: 101 concepts for 'a': more than 100"):
        assert len(get_task("concepts").parse_run(path, REFERENCE)["a"]) == 101
    path.write_text("a\tpneumonia\nb\t\nc\tfracture;effusion\n")
    with pytest.warns(FormatWarning, match="no concept looks like a UMLS CUI"):
        get_task("concepts").parse_run(path, REFERENCE)


def test_concepts_line_without_tab(tmp_path: Path) -> None:
    # the official script crashes on a first line without a tab (rejected here) and reads a later one as no concept
    path = tmp_path / "run.tsv"
    path.write_text("a\tC0000001\nb\nc\tC0000003\n")
    assert get_task("concepts").parse_run(path, REFERENCE)["b"] == []
    path.write_text("b\na\tC0000001\nc\tC0000003\n")
    with pytest.raises(FormatError, match=r"run.tsv:1: no tab after the image id"):
        get_task("concepts").parse_run(path, REFERENCE)
