"""VQA-Med question generation: the captioner, asked for questions."""

from __future__ import annotations

from tasks import TaskKit
from tasks._nets import CAPTIONER

KIT = TaskKit(
    name="vqg",
    tiny=("synthetic.n_train=24", "synthetic.n_test=4"),
    real=("model.tokenizer={data}/vqamed/tokenizer", *CAPTIONER),
)
