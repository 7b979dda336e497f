"""Weighted boxes fusion on pixel boxes: `ensemble_boxes.weighted_boxes_fusion` wants [0, 1] coordinates.

Shared by box ensembles (baselines.ensemble) and detection test-time augmentation (models.detection);
NumPy only, so neither drags in the other."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def weighted_boxes_fusion_pixels(
    boxes: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    weights: Sequence[float],
    size: tuple[float, float],
    iou_threshold: float = 0.55,
    skip_box_threshold: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WBF (ensemble-boxes, conf_type "avg") of several sources' boxes on one image.

    A fused box is the confidence-weighted mean of its cluster; its confidence the weighted mean over
    the sources (a source without a box in the cluster adds 0), so identical sources give back their
    boxes. Two boxes of one class from the same source also merge when their IoU exceeds iou_threshold.

    Args:
        boxes: Per source, (N, 4) xyxy pixel boxes.
        scores: Per source, (N,) confidences.
        labels: Per source, (N,) integer labels.
        weights: Per source, its weight.
        size: (width, height) the boxes are normalised by; any size that holds every box gives the same
            result, as IoU and weighted means are unchanged by a per-axis scale.
        iou_threshold, skip_box_threshold: As `iou_thr` and `skip_box_thr` of ensemble_boxes.

    Returns:
        (boxes (M, 4) xyxy pixels, scores (M,), labels (M,) int64), highest confidence first.
    """
    try:
        from ensemble_boxes import weighted_boxes_fusion
    except ImportError as exc:  # an optional extra: only box ensembles and detection TTA need it
        raise ImportError(
            f"weighted boxes fusion needs the ensemble-boxes package ({exc}): pip install 'imageclef-baselines[tasks]'"
        ) from exc

    scale = np.array([size[0], size[1], size[0], size[1]], np.float64)
    normalised = [np.asarray(b, np.float64).reshape(-1, 4) / scale for b in boxes]
    if not any(len(b) for b in normalised):
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
    fused, fused_scores, fused_labels = weighted_boxes_fusion(
        normalised,
        [np.asarray(s, np.float64).reshape(-1) for s in scores],
        [np.asarray(lab).reshape(-1) for lab in labels],
        weights=list(weights),
        iou_thr=iou_threshold,
        skip_box_thr=skip_box_threshold,
        conf_type="avg",
    )
    return np.asarray(fused, np.float64) * scale, np.asarray(fused_scores, np.float64), fused_labels.astype(np.int64)
