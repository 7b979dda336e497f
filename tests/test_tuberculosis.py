"""Tuberculosis CT report: NIfTI preprocessing, label order, validator, AUC evaluator, pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.metrics import roc_auc_score

from baselines.data.base import collate_dicts
from baselines.data.formats.tuberculosis import LABELS, lung_label_order
from baselines.data.tuberculosis import LungPreprocessing, cached_ct, preprocess_ct
from baselines.pipeline import run
from baselines.tasks import get_task
from baselines.tasks.tuberculosis import CTReference
from conftest import train_steps

Compose = Callable[..., DictConfig]
TINY = ("synthetic.n_train=8", "synthetic.n_test=3", "+synthetic.size=32", "data.size=[16,16,16]", "data.batch_size=2")


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
    with pytest.raises(ValueError, match=r"no voxel with value 2 \(the right lung\)"):
        preprocess_ct(ct, _save(tmp_path / "m.nii.gz", mask), LungPreprocessing(size=(2, 2, 2)))
    with pytest.raises(ValueError, match="differs from its mask"):
        preprocess_ct(ct, _save(tmp_path / "m2.nii.gz", np.zeros((4, 4, 5), np.uint8)), LungPreprocessing())
    (tmp_path / "broken.nii.gz").write_bytes(b"not nifti")
    with pytest.raises(OSError, match=r"broken\.nii\.gz: cannot read NIfTI"):
        preprocess_ct(tmp_path / "broken.nii.gz", ct, LungPreprocessing())


def test_cache_is_keyed_by_content_and_settings(tmp_path: Path) -> None:
    ct = np.random.default_rng(0).integers(-1000, 400, (8, 6, 6)).astype(np.int16)
    mask = np.zeros((8, 6, 6), np.uint8)
    mask[:4], mask[4:] = 1, 2
    ct_path, mask_path = _save(tmp_path / "c.nii.gz", ct), _save(tmp_path / "m.nii.gz", mask)
    small, large = LungPreprocessing(size=(2, 2, 2)), LungPreprocessing(size=(3, 3, 3))
    first = cached_ct(ct_path, mask_path, small, tmp_path / "cache")
    np.testing.assert_array_equal(first, cached_ct(ct_path, mask_path, small, tmp_path / "cache"))
    assert cached_ct(ct_path, mask_path, large, tmp_path / "cache").shape == (2, 3, 3, 3)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2
    _save(ct_path, ct + 1)  # new content: a new entry, never the stale one
    cached_ct(ct_path, mask_path, small, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 3


def test_label_order_maps_names_to_lung_and_finding() -> None:
    assert lung_label_order(LABELS) == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
    assert lung_label_order(["PleurisyRight", "LeftLungAffected"]) == [(1, 2), (0, 0)]
    with pytest.raises(ValueError, match="must name one lung"):
        lung_label_order(["Affected"])


def test_auc_matches_sklearn_and_skips_one_class_labels(tmp_path: Path) -> None:
    truth = {
        f"{i}": np.array(row, np.float32)
        for i, row in enumerate([[1, 0, 1, 0, 0, 1], [0, 0, 0, 1, 0, 1], [1, 0, 1, 1, 0, 1]])
    }
    run_scores = {
        "0": np.array([0.9, 0.1, 0.4, 0.2, 0.5, 0.5]),
        "1": np.array([0.2, 0.3, 0.6, 0.7, 0.5, 0.5]),
        "2": np.array([0.4, 0.2, 0.8, 0.6, 0.5, 0.5]),
    }
    scores = get_task("tbct").score(run_scores, CTReference(set(truth), truth))
    # columns 2 (RightLungAffected), 5 (PleurisyLeft) and 6 (PleurisyRight) have one class only
    assert set(scores) == {"auc/LeftLungAffected", "auc/CavernsLeft", "auc/CavernsRight", "mean_auc", "min_auc"}
    assert scores["auc/LeftLungAffected"] == 1.0  # 0.9, 0.4 above 0.2
    assert scores["auc/CavernsLeft"] == 0.5  # positives 0.4, 0.8; negative 0.6 -> 1 of 2 pairs
    expected = roc_auc_score([0, 1, 1], [0.2, 0.7, 0.6])
    assert scores["auc/CavernsRight"] == pytest.approx(expected)
    assert scores["mean_auc"] == pytest.approx((1.0 + 0.5 + expected) / 3)
    assert scores["min_auc"] == 0.5


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


def test_overfits_one_batch_with_gradient_checkpointing(demo_cfg: Compose) -> None:
    torch.manual_seed(0)
    cfg = demo_cfg("tbct", *TINY, "model.gradient_checkpointing=true")
    instantiate(cfg.synthetic)
    dataset = instantiate(cfg.data).dataset("train")
    batch = collate_dicts([dataset[i] for i in range(4)])
    module = instantiate(cfg.model)
    losses = train_steps(module, batch, steps=30, lr=1e-3)
    assert losses[-1] < 0.05
    with torch.no_grad():
        predicted = module.lung_logits(batch["volume"]) > 0
    assert torch.equal(predicted, batch["target"] > 0.5)
