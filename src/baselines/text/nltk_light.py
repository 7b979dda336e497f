"""NLTK's tokenizer, stemmer and BLEU pieces without the two seconds `import nltk` costs.

Importing any NLTK module first runs `nltk/__init__.py`, which imports scikit-learn and SciPy for NLTK's
classifier wrappers and collocation statistics. Both are optional inside NLTK (it catches their
ImportError), and the VQA-Med evaluator uses neither. So NLTK is imported once with those two hidden
(unless something already imported them), then they are importable again as usual: `baselines
evaluate --task vqa` starts in a fraction of a second instead of two (scripts/bench_cli.py).
"""

from __future__ import annotations

import sys


def _import_nltk() -> None:
    if "nltk" in sys.modules:
        return
    hidden = [name for name in ("sklearn", "scipy") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` now raises ImportError
    try:
        import nltk  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]


_import_nltk()

from nltk.stem.snowball import SnowballStemmer  # noqa: E402
from nltk.tokenize import NLTKWordTokenizer  # noqa: E402
from nltk.translate.bleu_score import (  # noqa: E402
    SmoothingFunction,
    brevity_penalty,
    closest_ref_length,
    modified_precision,
    sentence_bleu,
)

__all__ = [
    "NLTKWordTokenizer",
    "SmoothingFunction",
    "SnowballStemmer",
    "brevity_penalty",
    "closest_ref_length",
    "modified_precision",
    "sentence_bleu",
]
