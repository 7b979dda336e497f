"""`baselines ensemble`: planted synthetic runs per fusion kind, the issue's properties (identical runs
give the same run, a fused run scores at least as well as its weaker member, RRF order by hand), score
sidecars, and the command line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from baselines.cli import main
from baselines.ensemble import FUSERS, FusionOptions, ensemble_runs
from baselines.ensemble.rankings import reciprocal_rank_fusion
from baselines.ensemble.wbf import weighted_boxes_fusion_pixels
from baselines.errors import FormatError
from baselines.evaluation.lifelog import rank
from baselines.io.polygons import fill_polygons, unflat
from baselines.io.sidecar import sidecar_path, write_sidecar
from baselines.tasks import get_task, task_names
from baselines.tasks.lifelog import LifelogReference, ParticipantReference
from baselines.tasks.medcaption import CaptionReference
from baselines.tasks.tuberculosis import CTReference
from baselines.tasks.vqamed import VQAReference
from baselines.types import ImageSet, Region

# --- planted predictions per task (what each model's predict_step would hand format_run) -----------


def _box(label: int, score: float, x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"label": label, "score": score, "box": (x0, y0, x1, y1)}


def _regions(image_id: str, items: Sequence[dict[str, Any]], polygons: bool = False) -> dict[str, Any]:
    boxes = np.array([i["box"] for i in items], np.float64).reshape(-1, 4)
    prediction: dict[str, Any] = {
        "id": image_id,
        "boxes": boxes,
        "scores": np.array([i["score"] for i in items]),
        "labels": np.array([i["label"] for i in items], np.int64),
    }
    if polygons:  # rectangles: rasterising and vectorising them gives the same vertices back
        prediction["polygons"] = [(x0, y0, x1, y0, x1, y1, x0, y1) for x0, y0, x1, y1 in boxes.tolist()]
    return prediction


def _region_truth(image_id: str, items: Sequence[dict[str, Any]], polygons: bool) -> list[Region]:
    out = []
    for i in items:
        x0, y0, x1, y1 = i["box"]
        out.append(Region(i["label"], 1.0, i["box"], (x0, y0, x1, y0, x1, y1, x0, y1) if polygons else ()))
    return out


REGION_TRUTH = {
    "a": [_box(0, 1, 10, 10, 50, 50), _box(1, 1, 100, 20, 160, 90)],
    "b": [_box(1, 1, 100, 100, 180, 160)],
    "c": [_box(0, 1, 20, 120, 90, 190)],
}


def _region_case(task: str) -> tuple[list[list[dict[str, Any]]], Any]:
    """Three runs; run k misses image k's ground truth and makes a false detection there instead, and
    finds the rest (jittered by up to 2 pixels)."""
    polygons = task == "coral_polygons"
    names = list(REGION_TRUTH)
    ids = {name: (f"{name}.jpg" if task == "drawnui" else name) for name in names}
    runs = []
    for k in range(3):
        predictions = []
        for position, name in enumerate(names):
            if position == k:
                items = [_box(0, 0.6, 150, 170, 190, 195)]
            else:
                items = [
                    {**i, "score": 0.8, "box": tuple(v + (k - 1) * 2 * (j % 2) for j, v in enumerate(i["box"]))}
                    for i in REGION_TRUTH[name]
                ]
            predictions.append(_regions(ids[name], items, polygons))
        runs.append(predictions)
    truth = {ids[n]: _region_truth(ids[n], REGION_TRUTH[n], polygons) for n in names}
    reference = ImageSet(sizes={ids[n]: (200, 200) for n in names}, ground_truth=truth)
    return runs, reference


CONCEPT_TRUTH = {
    "i1": ["C0000001", "C0000002"],
    "i2": ["C0000003"],
    "i3": ["C0000001", "C0000004"],
    "i4": ["C0000002", "C0000005"],
}


def _concepts_case() -> tuple[list[list[dict[str, Any]]], Any]:
    """Run k drops a true concept of image k and adds a false one to image k + 1."""
    ids = list(CONCEPT_TRUTH)
    runs = []
    for k in range(3):
        predictions = []
        for position, item in enumerate(ids):
            concepts = list(CONCEPT_TRUTH[item])
            if position == k:
                concepts = concepts[1:] or ["C0000009"]
            if position == k + 1:
                concepts.append("C0000008")
            predictions.append({"id": item, "concepts": concepts})
        runs.append(predictions)
    return runs, CaptionReference(set(ids), CONCEPT_TRUTH)


def _texts_case(task: str) -> tuple[list[list[dict[str, Any]]], Any]:
    """Run k writes something else for item k; the other runs agree with the truth."""
    truth = {
        "synpic1": "chest x ray showing a large mass in the left lung",
        "synpic2": "axial ct of the abdomen with a cyst in the liver",
        "synpic3": "mri of the brain showing a lesion in the frontal lobe",
    }
    ids = list(truth)
    runs = []
    for k in range(3):
        predictions = []
        for position, item in enumerate(ids):
            text = "an unrelated sentence about nothing at all" if position == k else truth[item]
            predictions.append({"id": item, "texts": [text]})
        runs.append(predictions)
    if task == "caption":
        return runs, CaptionReference(set(ids), truth)
    return runs, VQAReference(ids, {i: [t] for i, t in truth.items()})


def _vqa_case() -> tuple[list[list[dict[str, Any]]], Any]:
    truth = {"s1": "yes", "s2": "no", "s3": "pneumonia", "s4": "axial"}
    ids = list(truth)
    runs = [[{"id": i, "answer": "wrong" if p == k else truth[i]} for p, i in enumerate(ids)] for k in range(3)]
    return runs, VQAReference(ids, truth)


def _tbct_case() -> tuple[list[list[dict[str, Any]]], Any]:
    rng = np.random.default_rng(0)
    ids = [f"CTR_TST_{i:03d}.nii.gz" for i in range(1, 9)]
    truth = {i: rng.integers(0, 2, 6).astype(float) for i in ids}
    for j in range(6):  # both classes per label, so every AUC is defined
        truth[ids[0]][j], truth[ids[1]][j] = 0.0, 1.0
    runs = [
        [{"id": i, "probabilities": np.clip(0.3 + 0.4 * truth[i] + rng.normal(0, 0.25, 6), 0, 1)} for i in ids]
        for _ in range(3)
    ]
    return runs, CTReference(set(ids), truth)


def _spll_case() -> tuple[list[list[dict[str, Any]]], Any]:
    truth = {"p1": 1.5, "p2": -0.5, "p3": 2.0}
    ids = list(truth)
    runs = [[{"id": i, "value": -v if p == k else 1.1 * v} for p, (i, v) in enumerate(truth.items())] for k in range(3)]
    return runs, ParticipantReference(set(ids), truth)


def _lmrt_case() -> tuple[list[list[dict[str, Any]]], Any]:
    """Two topics, relevant images r1..r4 (two clusters each); run k pushes relevant image k below 10."""
    fillers = [f"x{i:02d}" for i in range(12)]
    truth = {t: {"r1": "c1", "r2": "c1", "r3": "c2", "r4": "c2"} for t in ("1", "2")}
    runs = []
    for k in range(3):
        predictions = []
        for topic in ("1", "2"):
            relevant = ["r1", "r2", "r3", "r4"]
            demoted = relevant.pop(k)
            ranking = [*relevant, *fillers[:8], demoted, *fillers[8:]]
            confidences = [1.0 - r / len(ranking) for r in range(len(ranking))]
            predictions.append({"id": topic, "images": ranking, "confidences": confidences})
        runs.append(predictions)
    return runs, LifelogReference({"1", "2"}, None, truth)


CASES: dict[str, Callable[[], tuple[list[list[dict[str, Any]]], Any]]] = {
    "drawnui": lambda: _region_case("drawnui"),
    "coral_boxes": lambda: _region_case("coral_boxes"),
    "coral_polygons": lambda: _region_case("coral_polygons"),
    "concepts": _concepts_case,
    "caption": lambda: _texts_case("caption"),
    "vqg": lambda: _texts_case("vqg"),
    "vqa": _vqa_case,
    "tbct": _tbct_case,
    "spll": _spll_case,
    "lmrt": _lmrt_case,
}


def _write_runs(task: str, runs: Sequence[Sequence[dict[str, Any]]], folder: Path) -> list[Path]:
    spec = get_task(task)
    paths = []
    for k, predictions in enumerate(runs):
        path = folder / f"run{k}_{spec.run_file_name}"
        path.write_text(spec.format_run(predictions))
        paths.append(path)
    return paths


def _masks(regions: Sequence[Region], size: int = 201) -> dict[int, np.ndarray]:
    by_label: dict[int, np.ndarray] = {}
    for r in regions:
        mask = by_label.setdefault(r.label, np.zeros((size, size), np.uint8))
        fill_polygons([unflat(r.polygon)], size, size, out=mask)
    return by_label


def _assert_same_parse(task: str, got: Any, expected: Any) -> None:
    assert list(got) == list(expected)
    for key in expected:
        a, b = got[key], expected[key]
        if task == "coral_polygons":
            assert sorted(r.score for r in a) == sorted(r.score for r in b)
            masks_a, masks_b = _masks(a), _masks(b)
            assert set(masks_a) == set(masks_b)
            assert all(np.array_equal(masks_a[label], masks_b[label]) for label in masks_b)
        elif isinstance(b, np.ndarray):
            np.testing.assert_allclose(a, b, atol=1e-6)
        else:
            assert a == b


def test_every_task_kind_has_a_registered_fusion() -> None:
    for name in task_names():
        assert get_task(name).kind in FUSERS, name
    assert set(CASES) == set(task_names())


@pytest.mark.parametrize("task", sorted(CASES))
def test_fusing_identical_runs_gives_the_same_run(task: str, tmp_path: Path) -> None:
    spec = get_task(task)
    runs, reference = CASES[task]()
    (first,) = _write_runs(task, runs[:1], tmp_path)
    copies = [tmp_path / f"copy{i}_{first.name}" for i in range(3)]
    for copy in copies:
        shutil.copy(first, copy)
    out = tmp_path / f"fused_{first.name}"
    ensemble_runs(spec, copies, out, weights=[1, 2, 3], reference=reference)
    _assert_same_parse(task, spec.parse_run(out, reference), spec.parse_run(first, reference))
    if task != "coral_polygons":  # the file itself too, as format_run wrote it (polygons: vertex order may differ)
        assert out.read_text() == first.read_text()


@pytest.mark.parametrize("task", sorted(CASES))
def test_a_fused_run_scores_at_least_as_well_as_its_weaker_member(task: str, tmp_path: Path) -> None:
    spec = get_task(task)
    runs, reference = CASES[task]()
    paths = _write_runs(task, runs, tmp_path)
    out = tmp_path / f"fused_{spec.run_file_name}"
    ensemble_runs(spec, paths, out, reference=reference)
    metric = spec.primary_metric
    members = [spec.score(spec.parse_run(p, reference), reference)[metric] for p in paths]
    fused = spec.score(spec.parse_run(out, reference), reference)[metric]
    assert fused >= min(members)
    # the planted members err on different items, so their consensus is better than the best of them
    assert fused > max(members)


# --- fusion rules checked by hand -------------------------------------------------------------------


def test_reciprocal_rank_fusion_order_by_hand() -> None:
    run_a = [("x", 0.9), ("y", 0.8), ("z", 0.7)]
    run_b = [("w", 0.4), ("y", 0.9), ("z", 0.5)]  # file order is not rank order: ranked by confidence
    fused = reciprocal_rank_fusion([run_a, run_b], [0.5, 0.5], k=60)
    # x: 1/61 / 2 = .00820, y: (1/62 + 1/61) / 2 = .01626, z: (1/63 + 1/62) / 2 = .01600, w: 1/63 / 2 = .00794
    assert [image for image, _ in fused] == ["y", "z", "x", "w"]
    assert fused[0][1] == pytest.approx((1 / 62 + 1 / 61) / 2)
    # a tie keeps the order images first appear in: p (run 1, rank 1) before q
    tied = reciprocal_rank_fusion([[("p", 0.9), ("q", 0.8)], [("q", 0.9), ("p", 0.8)]], [1, 1])
    assert [image for image, _ in tied] == ["p", "q"]
    # each run is ranked as the evaluator ranks it: by confidence, equal confidences in file order
    tied_run = [("a", 0.5), ("b", 0.5), ("c", 0.9)]
    assert rank(tied_run) == ["c", "a", "b"]
    assert [image for image, _ in reciprocal_rank_fusion([tied_run], [1])] == ["c", "a", "b"]
    # weights: the heavier run's first image wins
    assert reciprocal_rank_fusion([[("p", 1.0), ("q", 0.5)], [("q", 1.0), ("p", 0.5)]], [1, 3])[0][0] == "q"


def test_lmrt_temporal_rerank_with_metadata_times(tmp_path: Path) -> None:
    spec = get_task("lmrt")
    rows = [{"id": "1", "images": ["a", "b", "c"], "confidences": [0.9, 0.8, 0.7]}]
    paths = _write_runs("lmrt", [rows, rows, rows], tmp_path)
    metadata = tmp_path / "metadata.csv"
    # a and b are one minute apart (the same event), c ten hours later
    metadata.write_text("image_id,timestamp\na,0\nb,60\nc,36000\n")
    out = tmp_path / "fused.csv"
    reference = spec.load_reference(None, metadata)
    result = ensemble_runs(spec, paths, out, reference=reference, images=metadata)
    # RRF relevance 1, .984, .968; MMR (weight .7, 30 min): c (.678) beats b (.399) for second place
    assert [image for image, _ in spec.parse_run(out, reference)["1"]] == ["a", "c", "b"]
    assert not result.notes
    plain = ensemble_runs(spec, paths, tmp_path / "plain.csv")
    assert [image for image, _ in spec.parse_run(plain.run_file, None)["1"]] == ["a", "b", "c"]
    assert "temporal diversity re-ranking skipped" in plain.notes[0]


def test_lmrt_temporal_rerank_with_times_from_an_image_folder(tmp_path: Path) -> None:
    spec = get_task("lmrt")
    # the released day folders: ids are file names, which carry the capture time
    a, b, c = "20160905_180000_000.jpg", "20160905_180100_000.jpg", "20160906_040000_000.jpg"
    images = tmp_path / "images"
    (images / "2016-09-05").mkdir(parents=True)
    (images / "2016-09-06").mkdir()
    for name in (a, b):
        Image.new("RGB", (8, 8)).save(images / "2016-09-05" / name)
    Image.new("RGB", (8, 8)).save(images / "2016-09-06" / c)
    rows = [{"id": "1", "images": [a, b, c], "confidences": [0.9, 0.8, 0.7]}]
    paths = _write_runs("lmrt", [rows, rows, rows], tmp_path)
    out = tmp_path / "fused.csv"
    reference = spec.load_reference(None, images)
    result = ensemble_runs(spec, paths, out, reference=reference, images=images)
    # as with the metadata times: b is a minute after a (the same event), c ten hours later
    assert [image for image, _ in spec.parse_run(out, reference)["1"]] == [a, c, b]
    assert not result.notes


def test_wbf_box_is_the_confidence_weighted_mean_and_scores_average_over_runs() -> None:
    boxes, scores, labels = weighted_boxes_fusion_pixels(
        [np.array([[10, 10, 50, 50]]), np.array([[14, 10, 54, 50]]), np.zeros((0, 4))],
        [np.array([0.9]), np.array([0.3]), np.zeros(0)],
        [np.array([2]), np.array([2]), np.zeros(0)],
        [1.0, 1.0, 1.0],
        (200, 100),
    )
    # x: (0.9 * 10 + 0.3 * 14) / 1.2 = 11; the third run has no box there, so the score is (0.9 + 0.3) / 3
    np.testing.assert_allclose(boxes, [[11, 10, 51, 50]], atol=1e-3)
    np.testing.assert_allclose(scores, [0.4], atol=1e-6)
    assert labels.tolist() == [2]


def test_polygons_keep_the_pixels_most_runs_cover_scored_by_their_mean_confidence(tmp_path: Path) -> None:
    spec = get_task("coral_polygons")

    def square(x0: int, score: float) -> dict[str, Any]:
        return _regions("img", [_box(3, score, x0, 0, x0 + 20, 20)], polygons=True)

    paths = _write_runs("coral_polygons", [[square(0, 0.9)], [square(10, 0.6)], [square(40, 0.3)]], tmp_path)
    out = tmp_path / "fused.txt"
    ensemble_runs(spec, paths, out)
    (region,) = spec.parse_run(out, None)["img"]
    # columns 10..20 are covered by two runs of three; the third square is covered by one only
    assert region.label == 3 and region.box == (10, 0, 20, 20)
    assert region.score == pytest.approx((0.9 + 0.6) / 3, abs=1e-4)
    # a lower threshold keeps what any run covers (two components: 0..30 and 40..60)
    ensemble_runs(spec, paths, out, options=FusionOptions(threshold=0.3), overwrite=True)
    assert sorted(r.box for r in spec.parse_run(out, None)["img"]) == [(0, 0, 30, 20), (40, 0, 60, 20)]


def test_vqa_majority_groups_normalised_answers_and_breaks_ties_by_run_order(tmp_path: Path) -> None:
    spec = get_task("vqa")
    runs = [
        [{"id": "s1", "answer": "the mass"}, {"id": "s2", "answer": "ct"}],
        [{"id": "s1", "answer": "cyst"}, {"id": "s2", "answer": "mri"}],
        [{"id": "s1", "answer": "Mass."}, {"id": "s2", "answer": "x-ray"}],
    ]
    paths = _write_runs("vqa", runs, tmp_path)
    out = tmp_path / "fused.txt"
    ensemble_runs(spec, paths, out)
    # s1: "the mass" and "Mass." are one answer for the evaluator (2 votes, first spelling); s2: a 3-way tie
    assert spec.parse_run(out, None) == {"s1": "the mass", "s2": "ct"}
    ensemble_runs(spec, paths, out, weights=[1, 1, 3], overwrite=True)
    assert spec.parse_run(out, None) == {"s1": "the mass", "s2": "x-ray"}


def test_concept_vote_threshold_and_minimum(tmp_path: Path) -> None:
    spec = get_task("concepts")
    runs = [
        [{"id": "i1", "concepts": ["C0000001", "C0000002"]}],
        [{"id": "i1", "concepts": ["C0000002", "C0000003"]}],
        [{"id": "i1", "concepts": ["C0000004"]}],
        [{"id": "i1", "concepts": ["c0000002"]}],  # the evaluator compares concepts uppercased
    ]
    paths = _write_runs("concepts", runs, tmp_path)
    out = tmp_path / "fused.txt"
    ensemble_runs(spec, paths, out)  # C2 has 3 of 4 votes; the others one each
    assert spec.parse_run(out, None) == {"i1": ["C0000002"]}
    ensemble_runs(spec, paths, out, options=FusionOptions(threshold=0.25), overwrite=True)
    assert spec.parse_run(out, None) == {"i1": ["C0000002", "C0000001", "C0000003", "C0000004"]}
    ensemble_runs(spec, [paths[2], paths[0]], out, options=FusionOptions(threshold=0.9), overwrite=True)
    assert spec.parse_run(out, None) == {"i1": ["C0000004"]}  # none reaches 0.9: the best supported, run order


def test_caption_consensus_picks_the_candidate_closest_to_the_others(tmp_path: Path) -> None:
    spec = get_task("caption")
    runs = [
        [{"id": "i", "texts": ["a mass in the left lung"]}],
        [{"id": "i", "texts": ["large mass in the left lung on chest x ray"]}],
        [{"id": "i", "texts": ["a large mass in the left lung"]}],
        [{"id": "i", "texts": ["fracture of the right femur"]}],
    ]
    paths = _write_runs("caption", runs, tmp_path)
    out = tmp_path / "fused.txt"
    ensemble_runs(spec, paths, out)
    assert spec.parse_run(out, None) == {"i": "a large mass in the left lung"}


# --- scores in sidecars -------------------------------------------------------------------------------


def _sidecar(run: Path, ids: list[str], labels: list[str], scores: list[list[float]], **extras: Any) -> None:
    write_sidecar(run, ids, np.array(scores), labels, {k: np.asarray(v) for k, v in extras.items()})


def test_concept_sidecars_average_scores_instead_of_votes(tmp_path: Path) -> None:
    spec = get_task("concepts")
    runs = [[{"id": "i1", "concepts": ["C0000001"]}], [{"id": "i1", "concepts": []}], [{"id": "i1", "concepts": []}]]
    paths = _write_runs("concepts", runs, tmp_path)
    labels = ["C0000001", "C0000002"]
    _sidecar(paths[0], ["i1"], labels, [[0.95, 0.1]], thresholds=[0.5, 0.5])
    _sidecar(paths[1], ["i1"], labels, [[0.45, 0.1]], thresholds=[0.5, 0.5])
    _sidecar(paths[2], ["i1"], labels[:1], [[0.45]])  # another vocabulary, no thresholds (0.5 then)
    out = tmp_path / "fused.txt"
    options = FusionOptions(min_labels=0)
    result = ensemble_runs(spec, paths, out, options=options)
    assert spec.parse_run(out, None) == {"i1": ["C0000001"]}  # mean .617 >= .5; the vote was 1 of 3
    assert "sidecars of every run" in result.notes[0]
    members = json.loads(result.provenance.read_text())["ensemble"]["members"]
    assert members[0]["score_sidecar"]["path"] == str(sidecar_path(paths[0]))
    assert len(members[0]["score_sidecar"]["sha256"]) == 64
    ensemble_runs(spec, paths, out, options=FusionOptions(min_labels=0, use_sidecars=False), overwrite=True)
    assert spec.parse_run(out, None) == {"i1": []}
    sidecar_path(paths[2]).unlink()
    result = ensemble_runs(spec, paths, out, options=options, overwrite=True)
    assert spec.parse_run(out, None) == {"i1": []}
    assert "voting on the run files instead" in result.notes[0]


def test_vqa_sidecars_average_answer_distributions(tmp_path: Path) -> None:
    spec = get_task("vqa")
    runs = [[{"id": "s1", "answer": "yes"}], [{"id": "s1", "answer": "no"}], [{"id": "s1", "answer": "no"}]]
    paths = _write_runs("vqa", runs, tmp_path)
    _sidecar(paths[0], ["s1"], ["yes", "no"], [[0.9, 0.1]])
    _sidecar(paths[1], ["s1"], ["no", "yes"], [[0.6, 0.4]])
    _sidecar(paths[2], ["s1"], ["no", "yes"], [[0.6, 0.4]])
    out = tmp_path / "fused.txt"
    ensemble_runs(spec, paths, out)
    assert spec.parse_run(out, None) == {"s1": "yes"}  # mean: yes .567; the vote: no, 2 of 3
    ensemble_runs(spec, paths, out, options=FusionOptions(use_sidecars=False), overwrite=True)
    assert spec.parse_run(out, None) == {"s1": "no"}


def test_a_stale_sidecar_is_refused(tmp_path: Path) -> None:
    spec = get_task("vqa")
    paths = _write_runs("vqa", [[{"id": "s1", "answer": "yes"}]] * 2, tmp_path)
    _sidecar(paths[0], ["s1"], ["yes", "no"], [[0.9, 0.1]])
    paths[0].write_text("s1|no\n")  # edited after prediction
    with pytest.raises(FormatError, match="written for another version"):
        ensemble_runs(spec, paths, tmp_path / "fused.txt")


# --- errors and the command line ----------------------------------------------------------------------


def test_runs_of_different_items_weights_and_outputs_are_checked(tmp_path: Path) -> None:
    spec = get_task("spll")
    paths = _write_runs("spll", [[{"id": "p1", "value": 1.0}], [{"id": "p2", "value": 1.0}]], tmp_path)
    with pytest.raises(ValueError, match=r"does not cover the same items.*lacks 1 \(p1\)"):
        ensemble_runs(spec, paths, tmp_path / "out.csv")
    same = [paths[0], paths[0].with_name("copy.csv")]
    shutil.copy(paths[0], same[1])
    with pytest.raises(ValueError, match="1 weights for 2 runs"):
        ensemble_runs(spec, same, tmp_path / "out.csv", weights=[1.0])
    with pytest.raises(ValueError, match="positive"):
        ensemble_runs(spec, same, tmp_path / "out.csv", weights=[1.0, 0.0])
    with pytest.raises(ValueError, match="at least two runs"):
        ensemble_runs(spec, same[:1], tmp_path / "out.csv")
    with pytest.raises(ValueError, match="is one of the input runs"):
        ensemble_runs(spec, same, same[0], overwrite=True)
    (tmp_path / "out.csv").write_text("keep\n")
    with pytest.raises(FileExistsError, match="--overwrite"):
        ensemble_runs(spec, same, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == "keep\n"


def test_cli_fuses_validates_against_the_images_and_records_provenance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs, _ = _region_case("drawnui")
    paths = _write_runs("drawnui", runs, tmp_path)
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        Image.new("RGB", (200, 200)).save(images / name)
    out = tmp_path / "fused.txt"
    argv = ["ensemble", "--task", "drawnui", *map(str, paths), "-o", str(out), "--images", str(images)]
    assert main([*argv, "--weights", "2", "1", "1"]) == 0
    printed = capsys.readouterr().out
    assert "3 drawnui runs fused (boxes), valid drawnui run file" in printed
    assert "not checked" not in printed and "note" not in printed  # sizes known: nothing left out
    record = json.loads((tmp_path / "fused.txt.provenance.json").read_text())
    assert record["task"] == "drawnui" and record["ensemble"]["fusion"] == "boxes"
    assert [m["weight"] for m in record["ensemble"]["members"]] == [2.0, 1.0, 1.0]
    assert record["ensemble"]["validated_against"]["images"] == str(images)
    assert record["run_file_sha256"] and record["ensemble"]["options"]["iou_threshold"] == 0.55
    # an existing output needs --overwrite; an invalid member is reported with its file and line
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    paths[1].write_text(paths[1].read_text().replace("a.jpg", "z.jpg"))
    assert main([*argv, "--overwrite"]) == 2
    assert f"{paths[1]}:1: unknown image 'z.jpg'" in capsys.readouterr().err
