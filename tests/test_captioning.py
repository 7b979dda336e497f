"""The image-to-text module: target layout, generation, learning one batch, and the caption pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.data.base import collate_dicts
from baselines.pipeline import run
from baselines.tasks import get_task
from baselines.text.tokenizers import load_tokenizer, train_word_tokenizer
from tasks import KITS

Compose = Callable[..., DictConfig]
TINY = (*KITS["caption"].tiny, "data.loader.batch_size=4")


def test_word_tokenizer_round_trips_normalised_text(tmp_path: Path) -> None:
    train_word_tokenizer(["X-ray showing a cavity, and a nodule"], tmp_path / "tok")
    tokenizer = load_tokenizer(tmp_path / "tok")
    ids = tokenizer("x-ray showing a cavity, and a nodule")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == "x-ray showing a cavity, and a nodule"
    assert tokenizer("unseen words")["input_ids"][1:-1] == [tokenizer.unk_token_id] * 2


def test_missing_tokenizer_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="save_pretrained"):
        load_tokenizer(tmp_path / "no-such-tokenizer")


@pytest.fixture
def caption_module_and_batch(demo_cfg: Compose):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)  # the model's random init, independent of which tests ran before
    cfg = demo_cfg("caption", *TINY)
    instantiate(cfg.synthetic)
    dataset = instantiate(cfg.data).dataset("train")
    return instantiate(cfg.model), collate_dicts([dataset[i] for i in range(4)])


def test_labels_are_text_then_eos_with_padding_ignored(caption_module_and_batch) -> None:  # type: ignore[no-untyped-def]
    module, _ = caption_module_and_batch
    labels = module.labels(["x-ray showing a cavity", "ct scan"])
    tokenizer = module.tokenizer
    assert labels[0].tolist() == [*tokenizer("x-ray showing a cavity", add_special_tokens=False)["input_ids"], 3]
    assert labels[1, 3:].tolist() == [-100, -100]
    assert tokenizer.eos_token_id == 3


def test_several_sequences_per_image(caption_module_and_batch) -> None:  # type: ignore[no-untyped-def]
    module, batch = caption_module_and_batch
    module.num_beams, module.num_return_sequences = 3, 2
    module.eval()
    outputs = module.predict_step(batch, 0)
    assert [len(o["texts"]) for o in outputs] == [2, 2, 2, 2]
    assert [o["id"] for o in outputs] == batch["id"]


def test_num_return_sequences_cannot_exceed_beams(demo_cfg: Compose) -> None:
    cfg = demo_cfg("caption", *TINY, "model.num_beams=2", "model.num_return_sequences=3")
    instantiate(cfg.synthetic)
    with pytest.raises(InstantiationException, match="cannot exceed num_beams"):
        instantiate(cfg.model)


def test_caption_pipeline_writes_non_empty_captions(demo_cfg: Compose) -> None:
    cfg = demo_cfg("caption", *TINY, "trainer.max_epochs=2")
    instantiate(cfg.synthetic)
    summary = run(cfg)
    assert set(summary["scores"]) == {"bleu", "chrf"}
    run_file = Path(summary["run_file"])
    parsed = get_task("caption").parse_run(run_file, None)
    assert len(parsed) == 4 and all(text.strip() for text in parsed.values())
