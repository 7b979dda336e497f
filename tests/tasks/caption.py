"""Medical captions: an image-to-text encoder-decoder."""

from __future__ import annotations

from typing import Any

import torch

from tasks import Overfit, TaskKit
from tasks._nets import CAPTIONER


def _says_its_captions(module: Any, batch: dict[str, Any]) -> None:
    module.eval()  # the training loss carries dropout noise; memorisation is judged without it
    with torch.no_grad():
        memorised = module.net(pixel_values=module.pixels(batch["image"]), labels=module.labels(batch["text"])).loss
    assert float(memorised) < 0.05
    module.num_beams = 1  # greedy: the memorised caption is the most probable token at every step
    outputs = module.predict_step(batch, 0)
    assert [o["texts"][0] for o in outputs] == batch["text"]


KIT = TaskKit(
    name="caption",
    tiny=("synthetic.n_train=12", "synthetic.n_test=4"),
    real=("model.tokenizer={data}/medcaption/tokenizer", *CAPTIONER),
    overfit=Overfit(
        items=4,
        steps=250,
        lr=1e-3,
        loss_ratio=0.2,
        overrides=("data.loader.batch_size=4",),
        memorised=_says_its_captions,
    ),
)
