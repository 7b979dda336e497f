"""Lifelog sport performance: a small regressor on tabular features."""

from __future__ import annotations

from tasks import TaskKit

KIT = TaskKit(name="spll", tiny=("synthetic.n_train=16", "synthetic.n_test=4"))
