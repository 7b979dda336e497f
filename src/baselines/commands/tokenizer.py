"""`baselines tokenizer --from FILE... --out DIR`: the offline word-level tokenizer of a task's own texts.

Each file is read with its task's reader, its layout told from its lines: captions `image_id<TAB>caption`
(medical caption), VQA-Med QA pairs `image_id|question|answer` (the questions, which the VQA model reads; with
`--answers` the answers too), or question lines `image_id|question[|question...]` (VQG, test questions). The
tokenizer is trained with the `tokenizers` library (baselines.text.tokenizers.train_word_tokenizer: lowercase,
split on white space, `[BOS] ... [EOS]`) and saved with save_pretrained, so `model.tokenizer=DIR` loads it. DIR
appears whole or not at all; an existing one is replaced only with --force, and only if it is a tokenizer folder.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

HELP = "make the offline word-level tokenizer (model.tokenizer=DIR) from a task's captions or questions"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="sources",
        nargs="+",
        required=True,
        type=Path,
        metavar="FILE",
        help="captions (id<TAB>caption), VQA-Med QA pairs (id|question|answer) or questions (id|question[|...])",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="the tokenizer folder to write")
    parser.add_argument("--answers", action="store_true", help="also learn the answers of QA-pairs files")
    parser.add_argument("--vocab-size", type=_positive, default=8000, help="most tokens, special tokens included")
    parser.add_argument("--min-frequency", type=_positive, default=1, help="fewest occurrences of a word kept")
    parser.add_argument("--force", action="store_true", help="replace DIR if it is an existing tokenizer folder")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _replaceable(force: bool) -> Callable[[Path], str | None]:
    """Why an existing --out folder may not be replaced (None: it may)."""
    from baselines.text.packed import TOKENIZER_FILES

    def why_not(folder: Path) -> str | None:
        entries = sorted(entry.name for entry in folder.iterdir())
        if not entries:
            return None  # an empty folder holds nothing to lose
        if not force:
            return "it exists (--force replaces a tokenizer folder)"
        others = [name for name in entries if name not in TOKENIZER_FILES or not (folder / name).is_file()]
        if others:
            return f"it holds {', '.join(others[:5])}{' ...' if len(others) > 5 else ''}: not a tokenizer folder"
        return None

    return why_not


def read_texts(path: Path, answers: bool) -> tuple[str, list[str]]:
    """What a file holds (`captions`, `questions`, ...) and its texts, read with its task's reader.

    Raises:
        FormatError: Naming the file and line, for a missing file or a line of none of the layouts.
    """
    from baselines.io.formats.medcaption import read_tab_file
    from baselines.io.formats.vqamed import looks_like_question, read_generated_questions, read_qa
    from baselines.io.lines import read_lines

    _, first = next(read_lines(path))  # the first line tells the layout (an empty file is a FormatError)
    if "\t" in first:
        return "captions", [text for text in read_tab_file(path, "caption").values() if text]
    fields = [text.split("|") for _, text in read_lines(path)]
    # three fields whose last is mostly not a question: QA pairs (a VQG line `id|q1|q2` ends with a question)
    if all(len(row) == 3 for row in fields) and 2 * sum(looks_like_question(row[2]) for row in fields) < len(fields):
        rows = read_qa(path)
        texts = [question for _, question, _ in rows] + ([answer for _, _, answer in rows] if answers else [])
        return "questions and answers" if answers else "questions", texts
    return "questions", [q for questions in read_generated_questions(path).values() for q in questions]


def run(args: argparse.Namespace) -> int:
    from baselines.io.atomic import atomic_folder
    from baselines.text.tokenizers import train_word_tokenizer

    replace = _replaceable(args.force)
    why = (replace(args.out) if args.out.is_dir() else "it is not a folder") if args.out.exists() else None
    if why is not None:  # said before anything is read or trained
        raise FileExistsError(f"{args.out}: not replaced: {why}")
    texts: list[str] = []
    read = []
    for path in args.sources:
        kind, found = read_texts(path, args.answers)
        read.append(f"  {path}: {len(found):,} {kind}")
        texts += found
    if not texts:
        raise ValueError(f"no text in {', '.join(map(str, args.sources))}")
    with atomic_folder(args.out, replace=replace) as folder:
        tokenizer = train_word_tokenizer(texts, folder, vocab_size=args.vocab_size, min_frequency=args.min_frequency)
    print(f"{args.out}: word-level tokenizer of {len(tokenizer):,} tokens from {len(texts):,} texts")
    print("\n".join(read))
    print(f"use it with model.tokenizer={args.out}")
    return 0
