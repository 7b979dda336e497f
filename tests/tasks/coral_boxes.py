"""Coral annotation and localisation: the drawnUI detector on synthetic reef images (13 substrates)."""

from __future__ import annotations

from tasks import TaskKit
from tasks._nets import DETECTOR

KIT = TaskKit(
    name="coral_boxes",
    tiny=("synthetic.n_train=6", "synthetic.n_test=4"),
    fast=("data.image_size=160", "model.net.backbone=resnet10t"),
    real=DETECTOR,
)
