"""Tuberculosis CT report: NIfTI preprocessing, label order, validator, AUC evaluator, pipeline."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.metrics import roc_auc_score

from baselines.data.tuberculosis import cached_ct, preprocess_ct
from baselines.errors import FormatError
from baselines.io.formats.tuberculosis import LABELS, lung_label_order, read_labels
from baselines.io.lungs import LungPreprocessing, locate_lungs
from baselines.pipeline import run
from baselines.tasks import get_task
from baselines.tasks.tuberculosis import CTReference
from tasks import KITS

Compose = Callable[..., DictConfig]
TINY = (*KITS["tbct"].tiny, "data.loader.batch_size=2")


def _save(path: Path, array: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(array, np.eye(4)), str(path))
    return path


def test_nifti_round_trip_and_lung_crop_mirror(tmp_path: Path) -> None:
    ct = np.full((8, 4, 4), -1000, np.int16)
    ct[1, 1, 1], ct[6, 2, 2] = 400, 400  # one bright voxel per lung
    mask = np.zeros((8, 4, 4), np.uint8)
    mask[0:3] = 1  # left lung: x 0..2, bright voxel at its x=1 (middle)
    mask[5:8] = 2  # right lung: x 5..7, bright voxel at x=6 (middle)
    ct_path, mask_path = _save(tmp_path / "ct.nii.gz", ct), _save(tmp_path / "m.nii.gz", mask)
    np.testing.assert_array_equal(np.asarray(nib.load(str(ct_path)).dataobj), ct)
    settings = LungPreprocessing(size=(3, 4, 4), window=(-1000, 400), margin=0)
    lungs = preprocess_ct(ct_path, mask_path, settings).astype(np.float32)
    assert lungs.shape == (2, 3, 4, 4) and lungs.max() == 1.0 and lungs.min() == 0.0
    assert lungs[0, 1, 1, 1] == 1.0 and lungs[1, 1, 2, 2] == 1.0
    # the right lung is mirrored along x: a voxel at its low-x edge ends up at the high-x edge
    ct[5, 0, 0] = 400
    lungs = preprocess_ct(_save(tmp_path / "ct2.nii.gz", ct), mask_path, settings).astype(np.float32)
    assert lungs[1, 2, 0, 0] == 1.0 and lungs[1, 0, 0, 0] == 0.0


def test_missing_lung_and_shape_mismatch_are_clear(tmp_path: Path) -> None:
    ct = _save(tmp_path / "ct.nii.gz", np.zeros((4, 4, 4), np.int16))
    mask = np.zeros((4, 4, 4), np.uint8)
    mask[:2] = 1
    one_lung = _save(tmp_path / "m.nii.gz", mask)
    with pytest.raises(ValueError, match=r"m\.nii\.gz: expected two lung values .* found \[1\]"):
        preprocess_ct(ct, one_lung, LungPreprocessing(size=(2, 2, 2)))
    with pytest.raises(ValueError, match=r"no voxel with value 2 \(the right lung\)"):
        preprocess_ct(ct, one_lung, LungPreprocessing(size=(2, 2, 2), left_value=1, right_value=2))
    with pytest.raises(ValueError, match="differs from its mask"):
        preprocess_ct(ct, _save(tmp_path / "m2.nii.gz", np.zeros((4, 4, 5), np.uint8)), LungPreprocessing())
    (tmp_path / "broken.nii.gz").write_bytes(b"not nifti")
    with pytest.raises(OSError, match=r"broken\.nii\.gz: cannot read NIfTI"):
        preprocess_ct(tmp_path / "broken.nii.gz", ct, LungPreprocessing())
    with pytest.raises(ValueError, match="must both be None"):
        LungPreprocessing(left_value=1)
    with pytest.raises(ValueError, match="must both be None"):
        LungPreprocessing(left_value=1, right_value=1)


@pytest.mark.parametrize("third", [3, -1, 300])  # a small range is scanned value by value, a wide one sorted
def test_a_mask_with_more_than_two_values_lists_them_all(third: int) -> None:
    mask = np.zeros((6, 3, 3), np.int32)
    mask[0:2], mask[4:6], mask[3, 1, 1] = 1, 2, third
    with pytest.raises(ValueError, match=rf"found \[{', '.join(map(str, sorted([1, 2, third])))}\]"):
        locate_lungs(mask, Path("m.nii.gz"), LungPreprocessing())
    left, right = locate_lungs(mask, Path("m.nii.gz"), LungPreprocessing(left_value=1, right_value=2))
    assert (left.value, left.first, left.last) == (1, (0, 0, 0), (1, 2, 2))
    assert right.box(margin=1) == (slice(3, 7), slice(0, 4), slice(0, 4))
    side_by_side = np.zeros((3, 1, 2), np.int32)
    side_by_side[[0, 2], 0] = [1, 2]  # both values at x = 0 and 2: centred at x = 1
    with pytest.raises(ValueError, match=r"lung values \[1, 2\] are centred at the same left-right position"):
        locate_lungs(side_by_side, Path("m.nii.gz"), LungPreprocessing())


def _asymmetric_ct() -> tuple[np.ndarray, np.ndarray]:
    """A RAS+ CT (axis 0 from the patient's left to right) whose lungs and voxels are all different."""
    ct = np.random.default_rng(1).integers(-1000, 400, (10, 6, 5)).astype(np.int16)
    mask = np.zeros((10, 6, 5), np.uint8)
    mask[1:4, 1:5, 1:4] = 1  # left lung (low x), 3 voxels wide
    mask[6:10, 0:6, 0:5] = 2  # right lung (high x), larger
    return ct, mask


def _stored(tmp_path: Path, name: str, ct: np.ndarray, mask: np.ndarray, affine: np.ndarray) -> tuple[Path, Path]:
    for kind, array in (("ct", ct), ("mask", mask)):
        nib.save(nib.Nifti1Image(np.ascontiguousarray(array), affine), str(tmp_path / f"{name}-{kind}.nii.gz"))
    return tmp_path / f"{name}-ct.nii.gz", tmp_path / f"{name}-mask.nii.gz"


def test_a_flipped_or_permuted_copy_gives_the_same_lungs(tmp_path: Path) -> None:
    # The same body stored RAS, LAS (axis 0 reversed, from the patient's right to left) and with axes 0 and 1
    # swapped (ARS): the affine says where each voxel is, so every copy must give the same left and right lung.
    ct, mask = _asymmetric_ct()
    ras = np.diag([0.8, 0.8, 2.0, 1.0])
    las = ras.copy()
    las[0, 0], las[0, 3] = -0.8, 0.8 * (ct.shape[0] - 1)
    ars = ras[[1, 0, 2, 3]]
    assert nib.aff2axcodes(las) == ("L", "A", "S") and nib.aff2axcodes(ars) == ("A", "R", "S")
    settings = LungPreprocessing(size=(4, 4, 4), margin=0)
    expected = preprocess_ct(*_stored(tmp_path, "ras", ct, mask, ras), settings)
    flipped = preprocess_ct(*_stored(tmp_path, "las", ct[::-1], mask[::-1], las), settings)
    swapped = preprocess_ct(*_stored(tmp_path, "ars", ct.swapaxes(0, 1), mask.swapaxes(0, 1), ars), settings)
    np.testing.assert_array_equal(flipped, expected)
    np.testing.assert_array_equal(swapped, expected)
    # an explicit convention goes through the same reorientation
    explicit = LungPreprocessing(size=(4, 4, 4), margin=0, left_value=1, right_value=2)
    np.testing.assert_array_equal(
        preprocess_ct(*_stored(tmp_path, "las", ct[::-1], mask[::-1], las), explicit), expected
    )
    # reading the LAS file's voxels as if they were RAS (the old behaviour) swaps the lungs
    naive = preprocess_ct(*_stored(tmp_path, "naive", ct[::-1], mask[::-1], ras), settings)
    assert not np.array_equal(naive, expected)


def test_laterality_is_decided_from_the_affine_unless_configured(tmp_path: Path) -> None:
    ct, mask = _asymmetric_ct()
    swapped_values = np.where(mask == 1, 2, np.where(mask == 2, 1, 0)).astype(np.uint8)  # 2 = the left lung
    ras = np.diag([0.8, 0.8, 2.0, 1.0])
    auto = LungPreprocessing(size=(4, 4, 4), margin=0)
    expected = preprocess_ct(*_stored(tmp_path, "a", ct, mask, ras), auto)
    np.testing.assert_array_equal(preprocess_ct(*_stored(tmp_path, "b", ct, swapped_values, ras), auto), expected)
    # imposing 1 = left on that mask takes the patient's right lung as the left one
    imposed = LungPreprocessing(size=(4, 4, 4), margin=0, left_value=1, right_value=2)
    wrong_way = preprocess_ct(*_stored(tmp_path, "c", ct, swapped_values, ras), imposed)
    assert not np.array_equal(wrong_way, expected)
    np.testing.assert_array_equal(
        preprocess_ct(*_stored(tmp_path, "d", ct, swapped_values, ras), replace(imposed, left_value=2, right_value=1)),
        expected,
    )


def test_a_cache_hit_reads_no_nifti_and_a_rewritten_file_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ct = np.random.default_rng(0).integers(-1000, 400, (8, 6, 6)).astype(np.int16)
    mask = np.zeros((8, 6, 6), np.uint8)
    mask[:4], mask[4:] = 1, 2
    ct_path, mask_path = _save(tmp_path / "c.nii.gz", ct), _save(tmp_path / "m.nii.gz", mask)
    small, large = LungPreprocessing(size=(2, 2, 2)), LungPreprocessing(size=(3, 3, 3))
    first = cached_ct(ct_path, mask_path, small, tmp_path / "cache")
    assert cached_ct(ct_path, mask_path, large, tmp_path / "cache").shape == (2, 3, 3, 3)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2

    def no_nifti(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cache hit opened a NIfTI file")

    with monkeypatch.context() as patch:
        patch.setattr(nib, "load", no_nifti)
        np.testing.assert_array_equal(cached_ct(ct_path, mask_path, small, tmp_path / "cache"), first)
        with pytest.raises(OSError, match="a cache hit opened a NIfTI file"):  # a miss does read it
            cached_ct(ct_path, mask_path, LungPreprocessing(size=(4, 4, 4)), tmp_path / "cache")
    _save(ct_path, ct + 1)  # new content: a new entry, never the stale one
    os.utime(ct_path, ns=(1, 1))  # a new mtime even on a coarse clock
    changed = cached_ct(ct_path, mask_path, small, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 3
    assert not np.array_equal(changed, first)


def test_label_order_maps_names_to_lung_and_finding() -> None:
    assert lung_label_order(LABELS) == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
    assert lung_label_order(["PleurisyRight", "LeftLungAffected"]) == [(1, 2), (0, 0)]
    with pytest.raises(ValueError, match="must name one lung"):
        lung_label_order(["Affected"])


def test_auc_matches_sklearn_and_reports_the_official_nan_next_to_the_mean(tmp_path: Path) -> None:
    truth = {
        f"{i}": np.array(row, np.float32)
        for i, row in enumerate([[1, 0, 1, 0, 0, 1], [0, 0, 0, 1, 0, 1], [1, 0, 1, 1, 0, 1]])
    }
    run_scores = {
        "0": np.array([0.9, 0.1, 0.4, 0.2, 0.5, 0.5]),
        "1": np.array([0.2, 0.3, 0.6, 0.7, 0.5, 0.5]),
        "2": np.array([0.4, 0.2, 0.8, 0.6, 0.5, 0.5]),
    }
    with pytest.warns(UserWarning, match="RightLungAffected, PleurisyLeft, PleurisyRight has one class only"):
        scores = get_task("tbct").score(run_scores, CTReference(set(truth), truth))
    # RightLungAffected, PleurisyLeft and PleurisyRight have one class only: NaN, as the official evaluator says
    assert all(math.isnan(scores[f"auc/{label}"]) for label in ("RightLungAffected", "PleurisyLeft", "PleurisyRight"))
    assert math.isnan(scores["mean_auc_official"]) and math.isnan(scores["min_auc_official"])
    assert scores["auc/LeftLungAffected"] == 1.0  # 0.9, 0.4 above 0.2
    assert scores["auc/CavernsLeft"] == 0.5  # positives 0.4, 0.8; negative 0.6 -> 1 of 2 pairs
    expected = roc_auc_score([0, 1, 1], [0.2, 0.7, 0.6])
    assert scores["auc/CavernsRight"] == pytest.approx(expected)
    assert scores["mean_auc"] == pytest.approx((1.0 + 0.5 + expected) / 3)
    assert scores["min_auc"] == 0.5
    both = {
        k: np.array([0, 1, 0, 1, 0, 1], np.float32) if k == "0" else np.array([1, 0, 1, 0, 1, 0], np.float32)
        for k in truth
    }
    plain = get_task("tbct").score(run_scores, CTReference(set(both), both))
    assert plain["mean_auc_official"] == plain["mean_auc"] and plain["min_auc_official"] == plain["min_auc"]


REAL = Path(__file__).parent / "fixtures" / "real" / "tuberculosis"


def test_the_released_label_csv_is_read(tmp_path: Path) -> None:
    # The first 5 lines of the 2020 training labels as released (`CT Report.csv`, header
    # `Filename,LeftLungAffected,...`): andreea-munteanu/Software-Engineering-2020@2d0abd6, see SOURCES.md.
    labels = read_labels(REAL / "ctr2020_train_labels_CT_Report_lines1-5.csv")
    assert list(labels) == ["CTR_TRN_001.nii.gz", "CTR_TRN_002.nii.gz", "CTR_TRN_003.nii.gz", "CTR_TRN_004.nii.gz"]
    np.testing.assert_array_equal(labels["CTR_TRN_003.nii.gz"], [1, 1, 0, 0, 0, 0])
    # a header whose first column is not the CT file name is refused
    (tmp_path / "bad.csv").write_text("Patient," + ",".join(LABELS) + "\nCTR_TRN_001.nii.gz,1,0,0,0,0,0\n")
    with pytest.raises(FormatError, match=r"bad\.csv:1: the first column must be 'Filename'"):
        read_labels(tmp_path / "bad.csv")


def test_a_participant_prediction_file_with_a_header_row_is_refused(tmp_path: Path) -> None:
    # A student team's test-set predictions (alexandrahanganu/Software-Engineering-2020@3cad1db
    # Results/resultsv2.csv, lines 1-3, see SOURCES.md): the labels' header line, then `id,p1..p6`. The
    # organisers' evaluator reads every line as a CT, so the header is refused; the rows themselves validate.
    source = REAL / "ctr2020_participant_run_SVM_resultsv2_lines1-3.csv"
    with pytest.raises(FormatError, match=r"resultsv2_lines1-3\.csv:1: a header row"):
        get_task("tbct").parse_run(source, None)
    rows = tmp_path / "run.csv"
    rows.write_bytes(b"".join(source.read_bytes().splitlines(keepends=True)[1:]))
    parsed = get_task("tbct").parse_run(rows, CTReference({"CTR_TST_001.nii.gz", "CTR_TST_002.nii.gz"}))
    np.testing.assert_allclose(parsed["CTR_TST_002.nii.gz"], [0.28, 0.41, 0.32, 0.22, 0.31, 0.42])


def test_ids_are_compared_as_written_and_values_may_have_spaces(tmp_path: Path) -> None:
    # crowdAI/CLEF_evaluators_2018 tuberculosis evaluator: ids unstripped (' CTR_TST_001.nii.gz' is unknown),
    # float() on the values (' 0.8' is 0.8); tests/conformance/tbct/{leading_space_id,leading_space_value}
    run = tmp_path / "run.csv"
    run.write_text(" A.nii.gz,0.1,0.2,0.3,0.4,0.5,0.6\n")
    with pytest.raises(FormatError, match=r"run\.csv:1: CT ' A\.nii\.gz' has spaces around it"):
        get_task("tbct").parse_run(run, None)
    run.write_text("A.nii.gz, 0.1,0.2 ,0.3,0.4,0.5,0.6\n")
    np.testing.assert_allclose(get_task("tbct").parse_run(run, None)["A.nii.gz"], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])


def test_fast_dev_run(demo_cfg: Compose) -> None:
    cfg = demo_cfg("tbct", *TINY, "debug=fast_dev_run")
    instantiate(cfg.synthetic)
    lines = Path(run(cfg)["run_file"]).read_text().splitlines()
    assert len(lines) == 2 and lines[0].startswith("CTR_TST_001.nii.gz,") and len(lines[0].split(",")) == 7


def test_pipeline_scores_mean_auc(demo_cfg: Compose) -> None:
    cfg = demo_cfg("tbct", *TINY, "trainer.max_epochs=1")
    instantiate(cfg.synthetic)
    summary = run(cfg)
    assert "mean_auc" in summary["scores"] and "min_auc" in summary["scores"]
