"""Bootstrap comparison of runs: TaskSpec.restrict for every task, intervals, paired p-values, the CLI."""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from baselines.cli import main
from baselines.evaluation import segmentation
from baselines.evaluation.bootstrap import compare_runs
from baselines.evaluation.segmentation import label_map
from baselines.tasks import get_task
from baselines.tasks.base import resampled_names
from baselines.tasks.lifelog import LifelogReference, ParticipantReference
from baselines.tasks.medcaption import CaptionReference
from baselines.tasks.tuberculosis import CTReference
from baselines.tasks.vqamed import VQAReference
from baselines.types import ImageSet, Region


def test_resampled_names_keep_every_draw_distinct() -> None:
    assert resampled_names(["a", "b", "a", "a"]) == ["a", "b", "a#2", "a#3"]
    assert resampled_names(["a", "a#2", "a"]) == ["a", "a#2", "a#3"]  # never another drawn id


def _box(label: int, score: float, x: float, y: float, w: float = 20, h: float = 20) -> Region:
    return Region(label, score, (x, y, x + w, y + h))


def _square(label: int, score: float, x: float, y: float) -> Region:
    return Region(label, score, (x, y, x + 20, y + 20), (x, y, x + 20, y, x + 20, y + 20, x, y + 20))


def _cases() -> dict[str, tuple[Any, Any]]:
    """A small parsed run and reference with ground truth for every task."""
    boxes_truth = {
        "a.jpg": [_box(0, 1, 10, 10), _box(1, 1, 50, 50)],
        "b.jpg": [_box(0, 1, 5, 5)],
        "c.jpg": [_box(2, 1, 30, 30), _box(0, 1, 60, 10)],
    }
    boxes_run = {
        "a.jpg": [_box(0, 0.9, 12, 10), _box(1, 0.4, 80, 80)],
        "b.jpg": [_box(0, 0.3, 5, 6), _box(2, 0.8, 40, 40)],
        "c.jpg": [_box(2, 0.7, 31, 30)],
    }
    sizes = dict.fromkeys(boxes_truth, (100, 100))
    polygon_truth = {"r1": [_square(0, 1, 10, 10)], "r2": [_square(1, 1, 40, 40), _square(0, 1, 5, 60)]}
    polygon_run = {"r1": [_square(0, 0.9, 12, 12)], "r2": [_square(1, 0.6, 40, 45), _square(1, 0.5, 5, 60)]}
    concepts_truth = {"i1": ["C0000001", "C0000002"], "i2": ["C0000003"], "i3": ["C0000001"]}
    concepts_run = {"i1": ["C0000001"], "i2": ["C0000003", "C0000009"], "i3": []}
    captions_truth = {"i1": "a chest x ray", "i2": "ct of the head", "i3": "mri of the knee joint"}
    captions_run = {"i1": "a chest x ray", "i2": "ct of the chest", "i3": "an mri"}
    answers = {"q1": ["yes"], "q2": ["no"], "q3": ["pneumonia", "lung infection"]}  # accepted alternatives
    questions_truth = {"q1": ["is there a mass?", "what is seen?"], "q2": ["what organ is shown?"]}
    judgements = {"t1": {"x1": "c1", "x2": "c1", "x3": "c2"}, "t2": {"y1": "d1"}}
    ranking = {"t1": [("x1", 0.9), ("z", 0.8), ("x3", 0.5)], "t2": [("z", 0.9), ("y1", 0.1)]}
    cluster_counts = {"t1": 4, "t2": 1}  # from a clusters file: t1 has clusters nobody judged an image of
    labels = {f"CT{i}.nii.gz": np.array([i % 2, (i // 2) % 2, i % 2, 1 - i % 2, (i + 1) % 2, i // 3 % 2], float)
              for i in range(6)}  # fmt: skip
    changes = {"p1": 1.0, "p2": 0.3, "p3": -0.2}
    probabilities = {ct: np.clip(v * 0.6 + 0.2 + 0.05 * k, 0, 1) for k, (ct, v) in enumerate(labels.items())}
    return {
        "drawnui": (boxes_run, ImageSet(sizes, boxes_truth)),
        "coral_boxes": (boxes_run, ImageSet(sizes, boxes_truth, subsets={"s": ["a.jpg"]})),
        "coral_polygons": (polygon_run, ImageSet(dict.fromkeys(polygon_truth, (100, 100)), polygon_truth)),
        "concepts": (concepts_run, CaptionReference(set(concepts_truth), concepts_truth)),
        "caption": (captions_run, CaptionReference(set(captions_truth), captions_truth)),
        "vqa": ({"q1": "yes", "q2": "yes", "q3": "pneumonia"}, VQAReference(list(answers), answers)),
        "vqg": ({"q1": ["is there a mass?"], "q2": ["what is it?"]}, VQAReference(None, questions_truth)),
        "lmrt": (ranking, LifelogReference(set(judgements), None, judgements, cluster_counts)),
        "spll": ({"p1": 0.5, "p2": -0.1, "p3": 0.2}, ParticipantReference({"p1", "p2", "p3"}, changes)),
        "tbct": (probabilities, CTReference(set(labels), labels)),
    }  # fmt: skip


def test_every_task_is_covered() -> None:
    from baselines.tasks import task_names

    assert set(_cases()) == set(task_names())


@pytest.mark.parametrize("task", sorted(_cases()))
def test_restricting_to_all_items_scores_as_the_whole_run(task: str) -> None:
    spec = get_task(task)
    run, reference = _cases()[task]
    whole = spec.score(run, reference)
    restricted = spec.score(*spec.restrict(run, reference, spec.scored_items(reference)))
    assert restricted == pytest.approx(
        {k: v for k, v in whole.items() if "/" not in k or k.startswith(("auc/", "pixel"))}
    )
    assert not any(key.endswith("/s") for key in restricted)  # test subsets are not part of a resample


@pytest.mark.parametrize("task", sorted(_cases()))
def test_a_repeated_item_counts_once_per_draw(task: str) -> None:
    """Scoring a draw with repeats = scoring a test set in which those items were copied under new ids."""
    spec = get_task(task)
    run, reference = _cases()[task]
    items = spec.scored_items(reference)
    draw = [items[0], items[0], items[-1], items[0]]
    copied_run = {f"{i}": run[item] for i, item in enumerate(draw) if item in run}
    copied_truth = {f"{i}": reference.ground_truth[item] for i, item in enumerate(draw)}
    copied = type(reference)(**{**reference.__dict__, "ground_truth": copied_truth})
    if isinstance(copied, ImageSet):
        copied.sizes, copied.subsets = {f"{i}": reference.sizes[item] for i, item in enumerate(draw)}, {}
    if isinstance(copied, LifelogReference):
        copied.cluster_counts = {f"{i}": reference.cluster_counts[item] for i, item in enumerate(draw)}
    assert spec.score(*spec.restrict(run, reference, draw)) == pytest.approx(
        spec.score(copied_run, copied), nan_ok=True
    )


def test_a_decomposable_metric_by_hand() -> None:
    spec = get_task("vqa")
    run, reference = _cases()["vqa"]  # q1 right, q2 wrong, q3 right
    assert spec.score(*spec.restrict(run, reference, ["q2", "q2", "q1"]))["accuracy"] == round(1 / 3, 4)


def _pixel_iou_from_scratch(
    run: dict[str, list[Region]], truth: dict[str, list[Region]], draw: list[str], order: tuple[int, ...]
) -> dict[int, float]:
    """The organisers' per-class pixel IoU over the drawn images (repeats included), each map drawn anew."""
    intersection, union = Counter[int](), Counter[int]()
    for image_id in draw:
        true_map = label_map(truth[image_id], 100, 100, order)
        pred_map = label_map(run.get(image_id, []), 100, 100, order)
        for label in order:
            intersection[label] += int(np.count_nonzero((true_map == label + 1) & (pred_map == label + 1)))
            union[label] += int(np.count_nonzero((true_map == label + 1) | (pred_map == label + 1)))
    return {label: intersection[label] / union[label] for label in order if union[label]}


def test_pixel_counts_drawn_once_give_the_scores_of_the_subset_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    # compare draws each image's pixel counts once per run (`segmentation._counted`) and sums them per resample
    spec = get_task("coral_polygons")
    run, reference = _cases()["coral_polygons"]
    other = {"r1": [_square(0, 0.9, 10, 10)], "r2": [_square(0, 0.6, 5, 62)]}  # the same images, other regions
    for candidate in (run, other):
        spec.score(candidate, reference)  # every image of both runs counted
    draw = ["r2", "r1", "r2"]
    kept = [spec.score(*spec.restrict(candidate, reference, draw)) for candidate in (run, other)]
    monkeypatch.setattr(segmentation, "_counts", OrderedDict())
    fresh = [spec.score(*spec.restrict(candidate, reference, draw)) for candidate in (run, other)]
    assert kept == fresh
    assert len(segmentation._counts) == 8  # 2 runs x 2 images x (label maps, independent masks)
    names = {label: f"pixel_iou/{name}" for label, name in enumerate(spec.classes)}
    for candidate, scores in zip((run, other), kept, strict=True):
        expected = _pixel_iou_from_scratch(candidate, reference.ground_truth, draw, spec.draw_order)
        assert {key: value for key, value in scores.items() if key.startswith("pixel_iou/")} == pytest.approx(
            {names[label]: value for label, value in expected.items()}
        )


def _spll(n: int, right: int) -> tuple[dict[str, float], ParticipantReference]:
    """n participants whose change was +1; the run gets the sign right for `right` in every 10 (cheap to score)."""
    truth = {f"p{i}": 1.0 for i in range(n)}
    run = {f"p{i}": 0.5 if i % 10 < right else -0.5 for i in range(n)}
    return run, ParticipantReference(set(truth), truth)


def test_intervals_contain_the_point_estimate_and_narrow_with_more_items() -> None:
    spec = get_task("spll")
    widths = []
    for n in (20, 80, 320):
        run, reference = _spll(n, 6)
        result = compare_runs(spec, [run], reference, resamples=300, seed=3)
        accuracy = result["runs"][0]["scores"]["sign_accuracy"]
        assert accuracy["value"] == 0.6 and accuracy["low"] <= 0.6 <= accuracy["high"]
        widths.append(accuracy["high"] - accuracy["low"])
    assert widths[0] > widths[1] > widths[2]
    assert widths[1] / widths[2] == pytest.approx(2, rel=0.3)  # ~ 1 / sqrt(n)


@pytest.mark.parametrize("task", ["drawnui", "coral_polygons", "concepts", "lmrt", "tbct", "caption"])
def test_intervals_contain_the_point_estimate_for_pooled_metrics(task: str) -> None:
    spec = get_task(task)
    run, reference = _cases()[task]
    result = compare_runs(spec, [run], reference, resamples=50, seed=0)
    primary = result["runs"][0]["scores"][spec.primary_metric]
    assert primary["low"] <= primary["value"] <= primary["high"]


def test_paired_p_values() -> None:
    spec = get_task("spll")
    half, reference = _spll(40, 5)
    perfect, _ = _spll(40, 10)
    result = compare_runs(spec, [half, perfect, dict(half)], reference, resamples=200, seed=1)
    better, same = result["runs"][1]["versus_first"], result["runs"][2]["versus_first"]
    assert better["sign_accuracy"] == {"difference": 0.5, "p_value": 0.0}  # better on every resample
    assert better["mae"] == {"difference": -0.5, "p_value": 0.0}  # lower, on every resample
    assert same["sign_accuracy"] == {"difference": 0.0, "p_value": 1.0}
    assert "versus_first" not in result["runs"][0]


def test_a_small_difference_on_few_items_is_not_significant() -> None:
    spec = get_task("spll")
    run, reference = _spll(10, 5)
    one_more = {**run, "p5": 0.5}  # one more right sign
    result = compare_runs(spec, [run, one_more], reference, resamples=2000, seed=0)
    p = result["runs"][1]["versus_first"]["sign_accuracy"]["p_value"]
    # the difference is > 0 exactly when p5 is drawn: P(not drawn in 10 draws) = 0.9 ** 10 = 0.349
    assert p == pytest.approx(0.9**10, abs=0.04)


def test_seeded() -> None:
    spec = get_task("drawnui")
    run, reference = _cases()["drawnui"]
    first = compare_runs(spec, [run], reference, resamples=40, seed=5)
    assert compare_runs(spec, [run], reference, resamples=40, seed=5) == first
    assert compare_runs(spec, [run], reference, resamples=40, seed=6) != first


def test_cli_prints_a_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gt.txt").write_text("".join(f"q{i}|yes\n" for i in range(10)))
    (tmp_path / "a.txt").write_text("".join(f"q{i}|{'yes' if i < 5 else 'no'}\n" for i in range(10)))
    (tmp_path / "b.txt").write_text("".join(f"q{i}|yes\n" for i in range(10)))
    args = [
        "compare",
        "--task",
        "vqa",
        str(tmp_path / "a.txt"),
        str(tmp_path / "b.txt"),
        "--gt",
        str(tmp_path / "gt.txt"),
    ]
    assert main([*args, "--resamples", "100", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "vqa" and result["items"] == 10 and result["metrics"] == ["accuracy", "bleu"]
    assert [run["run_file"] for run in result["runs"]] == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    assert result["runs"][1]["versus_first"]["accuracy"]["difference"] == 0.5
    assert main([*args, "--resamples", "100"]) == 0
    table = capsys.readouterr().out
    assert "accuracy (primary)" in table and "+0.5000" in table and "95% interval" in table
    (tmp_path / "bad.txt").write_text("q0|yes\n")
    assert main(["compare", "--task", "vqa", str(tmp_path / "bad.txt"), "--gt", str(tmp_path / "gt.txt")]) == 2


# --- today's intervals and p-values, pinned -----------------------------------------------------------------
# Recorded with the per-resample rescoring of `compare_runs` (main at 800d11b, before the vectorised
# bootstrap): every way of computing a resample's scores must give these numbers, float for float.
PINNED = Path(__file__).parent / "fixtures" / "bootstrap" / "pinned.json"


def _second_run(task: str, run: Any) -> Any:
    """Another run of the same test set, so every case has a difference and a p-value."""
    if task in ("drawnui", "coral_boxes", "coral_polygons"):
        return {image: regions[:-1] for image, regions in run.items()}
    if task == "concepts":
        return {image: [*concepts[:1], "C0000003"] for image, concepts in run.items()}
    if task == "caption":
        return {image: text.split()[0] for image, text in run.items()}
    if task == "vqa":
        return {**run, "q1": "no", "q2": "no"}
    if task == "vqg":
        return {"q1": ["what is seen?"], "q2": ["what is it?", "what organ is shown?"]}
    if task == "lmrt":
        return {topic: [(image, 1 - score) for image, score in rows] for topic, rows in run.items()}
    if task == "spll":
        return {participant: -value for participant, value in run.items()}
    return {ct: 1 - value for ct, value in run.items()}  # tbct


def _larger_cases() -> dict[str, tuple[str, list[Any], Any]]:
    """Cases with more items than `_cases`: 24 drawnUI images whose confidences tie across images and
    classes (the order of equal scores decides COCO's precision), 60 VQA questions, 50 LMRT topics."""
    rng = np.random.default_rng(11)
    truth: dict[str, list[Region]] = {}
    runs: list[dict[str, list[Region]]] = [{}, {}]
    for i in range(24):
        image = f"img{i:02d}.jpg"
        truth[image] = [
            _box(int(rng.integers(0, 3)), 1, *rng.integers(0, 80, 2)) for _ in range(int(rng.integers(0, 4)))
        ]
        for r, run in enumerate(runs):
            shift = (r + 1) * int(rng.integers(-6, 7))
            regions = [Region(t.label, 0.5, (t.box[0] + shift, *t.box[1:])) for t in truth[image] if rng.random() < 0.8]
            for _ in range(int(rng.integers(0, 3))):
                regions.append(
                    _box(int(rng.integers(0, 3)), float(rng.choice([0.5, 0.25, 0.9])), *rng.integers(0, 80, 2))
                )
            if regions or rng.random() < 0.5:
                run[image] = regions
    sizes = dict.fromkeys(truth, (100, 100))
    words = ["yes", "no", "pneumonia", "a fracture of the left arm", "mri"]
    answers = {f"q{i}": [words[int(rng.integers(0, 5))]] for i in range(60)}
    vqa_runs = [{q: words[int(rng.integers(0, 5))] if rng.random() < 0.5 else a[0] for q, a in answers.items()}
                for _ in range(2)]  # fmt: skip
    judgements = {f"t{t}": {f"x{t}_{i}": f"c{i % 3}" for i in range(int(rng.integers(1, 8)))} for t in range(50)}
    rankings = [
        {topic: [(f"x{t}_{i}", float(rng.random())) for i in range(12)] for t, topic in enumerate(judgements)}
        for _ in range(2)
    ]
    return {
        "drawnui_24": ("drawnui", runs, ImageSet(sizes, truth)),
        "vqa_60": ("vqa", vqa_runs, VQAReference(list(answers), answers)),
        "lmrt_50": ("lmrt", rankings, LifelogReference(set(judgements), None, judgements, None)),
    }


def _pinned_cases() -> dict[str, tuple[str, list[Any], Any]]:
    cases = {task: (task, [run, _second_run(task, run)], reference) for task, (run, reference) in _cases().items()}
    return {**cases, **_larger_cases()}


def _comparison(case: str) -> dict[str, Any]:
    task, runs, reference = _pinned_cases()[case]
    result = compare_runs(get_task(task), runs, reference, resamples=60, seed=7)
    return json.loads(json.dumps(result, allow_nan=True))  # as the CLI prints it; NaN == NaN below as strings


def _nan_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _nan_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nan_as_text(item) for item in value]
    return "nan" if isinstance(value, float) and np.isnan(value) else value


@pytest.mark.parametrize("case", sorted(_pinned_cases()))
def test_intervals_and_p_values_are_todays(case: str) -> None:
    """Intervals and p-values equal, to the last bit, those of the per-resample rescoring they replace."""
    pinned = json.loads(PINNED.read_text())[case]
    assert _nan_as_text(_comparison(case)) == _nan_as_text(pinned)


if __name__ == "__main__":  # records PINNED: run once, on the code whose numbers are to be kept
    PINNED.parent.mkdir(parents=True, exist_ok=True)
    PINNED.write_text(json.dumps({case: _comparison(case) for case in sorted(_pinned_cases())}, indent=1) + "\n")


@pytest.mark.parametrize(
    "task", ["drawnui", "coral_boxes", "coral_polygons", "concepts", "caption", "vqa", "vqg", "lmrt", "spll", "tbct"]
)
def test_the_pinned_cases_are_scored_from_arrays(task: str) -> None:
    """These tasks score resamples from per-item arrays (`resampling`), so the pinned numbers test that path."""
    spec = get_task(task)
    run, reference = _cases()[task]
    assert spec.resampling(run, reference, spec.scored_items(reference)) is not None
