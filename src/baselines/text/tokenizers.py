"""Tokenizers that work offline: trained locally with `tokenizers`, saved and loaded as a folder.

transformers 5 quietly builds an empty tokenizer from a bare vocab file, so the suite trains its
own for synthetic data and tests, and loads real ones from a hub name or a local folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

SPECIAL_TOKENS = {
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "bos_token": "[BOS]",
    "eos_token": "[EOS]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}


def train_word_tokenizer(
    texts: Iterable[str], out_dir: str | Path, vocab_size: int = 8000, min_frequency: int = 1
) -> PreTrainedTokenizerFast:
    """Trains a lowercase word-level tokenizer on texts, saves it to out_dir and returns it.

    Encodings are wrapped as `[BOS] ... [EOS]`; pad, unk, cls, sep and mask tokens exist so the same
    tokenizer serves decoders (captioning, VQG) and BERT-style encoders (VQA questions).
    """
    tokenizer = Tokenizer(models.WordLevel(unk_token=SPECIAL_TOKENS["unk_token"]))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    # split on whitespace only, so decoding (tokens joined by spaces) gives back the normalised text
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.WordLevelTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIAL_TOKENS.values())
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    bos, eos = SPECIAL_TOKENS["bos_token"], SPECIAL_TOKENS["eos_token"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} $B {eos}",
        special_tokens=[(bos, tokenizer.token_to_id(bos)), (eos, tokenizer.token_to_id(eos))],
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL_TOKENS)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out))
    return fast


def looks_like_a_path(name_or_path: str | Path) -> bool:
    """True for a file-system path (absolute, `~`, `./`, or more than one `/`), false for a hub name."""
    text = str(name_or_path)
    return isinstance(name_or_path, Path) or text.startswith(("/", "~", ".")) or text.count("/") > 1 or "\\" in text


def load_tokenizer(name_or_path: str | Path) -> PreTrainedTokenizerBase:
    """Loads a tokenizer from a local folder (saved with save_pretrained) or a hub name.

    Raises:
        OSError: Naming what to do when it is neither a folder here nor reachable on the hub.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return AutoTokenizer.from_pretrained(str(path))
    if looks_like_a_path(name_or_path):
        # a hub name is `name` or `org/name`: anything else was a folder, and hub advice would mislead
        raise OSError(
            f"tokenizer folder {str(name_or_path)!r} not found (moved, or not copied with the checkpoint that "
            "names it? checkpoints made by this version carry their tokenizer folder, older ones do not): give its "
            "folder with model.tokenizer=<folder> (a tokenizer saved with save_pretrained, or made with "
            "`baselines tokenizer`)"
        )
    try:
        return AutoTokenizer.from_pretrained(str(name_or_path))
    except Exception as exc:
        raise OSError(
            f"tokenizer {name_or_path!r} is not a local folder and could not be loaded from the hub "
            f"({type(exc).__name__}). Offline, run `AutoTokenizer.from_pretrained(name).save_pretrained(DIR)` "
            "on a machine with internet, copy DIR here and pass its path"
        ) from exc
