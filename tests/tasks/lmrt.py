"""Lifelog moment retrieval: a CLIP retriever with temporal re-ranking."""

from __future__ import annotations

from tasks import TaskKit

KIT = TaskKit(
    name="lmrt",
    tiny=("synthetic.n_events=8",),
    real=("model.model_name=baselines-tiny-clip", "model.pretrained=null", "data.image_size=64"),
)
