"""A local tokenizer folder carried inside a checkpoint, as plain data.

A model built with `model.tokenizer=<folder>` depends on that folder as much as on its weights (the embedding rows
are the tokenizer's ids), so every checkpoint carries the folder's tokenizer files: a mapping of file name to text
(JSON and plain text only, never a pickled object), loaded back with `torch.load(weights_only=True)` and checked
as data before anything is written (`PackedTokenizer.from_data`): the names must be the tokenizer files
`transformers` reads (`TOKENIZER_FILES`, so no path can be named), the values strings, the total at most
`MAX_TOKENIZER_BYTES`.

Only files of `TOKENIZER_FILES` are carried (a model folder given as its own tokenizer keeps its weights out);
`pack_tokenizer` checks that the tokenizer rebuilt from them equals the folder's before a checkpoint carries it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TOKENIZER_KEY = "baselines_tokenizer"
FORMAT = 1
MAX_TOKENIZER_BYTES = 64 * 2**20
"""The most bytes (UTF-8, all files together) a checkpoint's tokenizer may hold: GPT-2's and BERT's take 2-3 MB,
the largest multilingual `tokenizer.json`s under 20 MB."""
MAX_SOURCE_CHARS = 4096
# What `AutoTokenizer.from_pretrained` reads for a fast tokenizer (this suite's word tokenizers, GPT-2, BERT,
# RoBERTa): `config.json` names the model type when `tokenizer_config.json` does not name the class.
TOKENIZER_FILES = frozenset(
    {
        "added_tokens.json",
        "config.json",
        "merges.txt",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.json",
        "vocab.txt",
    }
)
# Text the rebuilt tokenizer must encode exactly as the original (cased, punctuated, out of vocabulary).
_PROBE = "What is abnormal in the CT scan? X-ray: a 3 cm nodule, left lung; Ünïcode ok."


class PackedTokenizerError(ValueError):
    """A checkpoint's tokenizer entry that is not the plain data it must be."""


@dataclass(frozen=True)
class PackedTokenizer:
    """A tokenizer folder's files as text.

    Args:
        source: The folder it was packed from, as configured (for messages only: never opened when loading).
        files: File name (one of TOKENIZER_FILES) -> its text.
    """

    source: str
    files: Mapping[str, str]

    @property
    def sha256(self) -> str:
        """A digest of the names and texts: the same tokenizer gives the same digest."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(f"{name}\0{hashlib.sha256(self.files[name].encode()).hexdigest()}\n".encode())
        return digest.hexdigest()

    def to_data(self) -> dict[str, Any]:
        """What a checkpoint stores: strings, an int and a dict of strings."""
        return {"format": FORMAT, "source": self.source, "files": dict(self.files)}

    @classmethod
    def from_data(cls, data: Any) -> PackedTokenizer:
        """Checks a checkpoint's entry as data before anything is written from it.

        Raises:
            PackedTokenizerError: Saying what is wrong (a type, a name, the size).
        """
        if not isinstance(data, Mapping):
            raise PackedTokenizerError(f"a {type(data).__name__}, not a mapping")
        if set(data) != {"format", "source", "files"}:
            keys = ", ".join(sorted(repr(k)[:40] for k in data))
            raise PackedTokenizerError(f"keys {keys}; expected 'files', 'format', 'source'")
        if type(data["format"]) is not int or data["format"] != FORMAT:  # a bool or a tensor is not a format
            raise PackedTokenizerError(f"format {str(data['format'])[:40]!r}; this version reads {FORMAT}")
        source, files = data["source"], data["files"]
        if not isinstance(source, str) or len(source) > MAX_SOURCE_CHARS:
            raise PackedTokenizerError(f"its source is not a string of at most {MAX_SOURCE_CHARS} characters")
        if not isinstance(files, Mapping) or not files:
            raise PackedTokenizerError("its files are not a non-empty mapping of file name to text")
        size = 0
        for name, text in files.items():
            if not isinstance(name, str) or name not in TOKENIZER_FILES:
                raise PackedTokenizerError(
                    f"the file name {repr(name)[:100]} is not one of {', '.join(sorted(TOKENIZER_FILES))}"
                )
            if not isinstance(text, str):
                raise PackedTokenizerError(f"the file {name} holds a {type(text).__name__}, not text")
            try:
                size += len(text.encode("utf-8"))
            except UnicodeEncodeError:
                raise PackedTokenizerError(f"the file {name} is not valid text (lone surrogates)") from None
            if size > MAX_TOKENIZER_BYTES:
                raise PackedTokenizerError(
                    f"its files hold over {MAX_TOKENIZER_BYTES:,} bytes, the cap on a carried tokenizer"
                )
        return cls(source, dict(files))

    def write(self, folder: Path) -> None:
        """Writes the files into an empty folder (the names are TOKENIZER_FILES: no path can escape it)."""
        for name, text in self.files.items():
            (folder / name).write_text(text, encoding="utf-8", newline="")

    def differs_from(self, folder: str | Path) -> list[str]:
        """The tokenizer files that differ between this and folder (missing on either side included)."""
        other = read_tokenizer_files(folder)
        return sorted(name for name in set(self.files) | set(other) if self.files.get(name) != other.get(name))


def read_tokenizer_files(folder: str | Path) -> dict[str, str]:
    """The TOKENIZER_FILES of folder as text (files that are not UTF-8 text are left out)."""
    found = {}
    for name in sorted(TOKENIZER_FILES):
        path = Path(folder).expanduser() / name
        if path.is_file():
            try:
                found[name] = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                continue
    return found


def is_local_folder(name_or_path: str | Path | None) -> bool:
    """Whether a `model.tokenizer` value names a folder here (else a hub name, or nothing)."""
    return name_or_path is not None and Path(str(name_or_path)).expanduser().is_dir()


def pack_tokenizer(name_or_path: str | Path | None) -> PackedTokenizer | None:
    """The files of a local tokenizer folder, if the tokenizer rebuilt from them alone equals the folder's.

    Returns:
        None for a hub name (nothing local to carry), and with a warning saying why for a folder that cannot be
        carried (too large, or tokenizer files outside TOKENIZER_FILES, such as a sentencepiece model): its
        checkpoints then need the folder itself, as before.
    """
    if not is_local_folder(name_or_path):
        return None
    folder = str(name_or_path)
    packed = PackedTokenizer(folder, read_tokenizer_files(folder))
    size = sum(len(text.encode()) for text in packed.files.values())
    why = None
    if not packed.files:
        why = f"it holds none of {', '.join(sorted(TOKENIZER_FILES))}"
    elif size > MAX_TOKENIZER_BYTES:
        why = f"its tokenizer files hold {size:,} bytes, over the cap of {MAX_TOKENIZER_BYTES:,}"
    else:
        why = _rebuilt_differs(packed)
    if why is not None:
        log.warning("checkpoints will not carry the tokenizer %s (%s): predicting needs that folder", folder, why)
        return None
    return packed


def _rebuilt_differs(packed: PackedTokenizer) -> str | None:
    """Why the tokenizer rebuilt from packed's files alone is not the folder's, or None when it is the same."""
    import tempfile

    from baselines.text.tokenizers import load_tokenizer

    original = load_tokenizer(packed.source)
    with tempfile.TemporaryDirectory(prefix="baselines-tokenizer-") as folder:
        packed.write(Path(folder))
        try:
            rebuilt = load_tokenizer(folder)
        except (OSError, ValueError) as exc:
            return f"its tokenizer files alone do not load ({type(exc).__name__})"
    checks = {
        "class": (type(original), type(rebuilt)),
        "vocabulary": (original.get_vocab(), rebuilt.get_vocab()),
        "special tokens": (original.all_special_tokens, rebuilt.all_special_tokens),
        "encoding": (original(_PROBE)["input_ids"], rebuilt(_PROBE)["input_ids"]),
    }
    differ = [what for what, (a, b) in checks.items() if a != b]
    return f"rebuilt from its tokenizer files alone, its {', '.join(differ)} differ" if differ else None


def carried_tokenizer(checkpoint: Mapping[str, Any]) -> PackedTokenizer | None:
    """The tokenizer a loaded checkpoint carries, checked as data; None when it carries none.

    Raises:
        PackedTokenizerError: When its entry is not plain tokenizer data (`PackedTokenizer.from_data`).
    """
    data = checkpoint.get(TOKENIZER_KEY)
    return None if data is None else PackedTokenizer.from_data(data)


def tokenizer_folder(carried: PackedTokenizer, configured: str | Path | None, output_dir: str | Path) -> str:
    """The folder to build the model's tokenizer from: the checkpoint's own copy, which the weights were trained with.

    The configured folder is used in place when it holds the same files (nothing is written). When it is missing
    (moved, deleted, another machine), a hub name, or different (a warning names the files), the carried copy is
    written once to `<output_dir>/tokenizer-<digest>/` (atomically; reused when already there) and used.
    """
    if is_local_folder(configured):
        assert configured is not None
        differ = carried.differs_from(configured)
        if not differ:
            return str(configured)
        log.warning(
            "model.tokenizer=%s differs from the tokenizer the checkpoint was trained with (%s): the checkpoint's "
            "own copy is used",
            configured,
            ", ".join(differ),
        )
    from baselines.io.atomic import atomic_folder

    folder = Path(output_dir) / f"tokenizer-{carried.sha256[:12]}"
    if not folder.is_dir() or carried.differs_from(folder):
        try:
            with atomic_folder(folder) as temporary:
                carried.write(temporary)
        except OSError:
            if not folder.is_dir() or carried.differs_from(folder):  # else: another process wrote it just now
                raise
        log.info("tokenizer: the checkpoint's copy of %s, written to %s", carried.source, folder)
    return str(folder)
