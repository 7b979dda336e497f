"""VQA-Med 2020 scores, reproducing the official evaluator (abachaa/VQA-Med-2020) without any data download.

Accuracy: the MS-COCO VQA answer normalisation on both sides (punctuation, lowercase, number words to
digits, articles dropped, contractions), exact match, mean, rounded to 4 decimals.

BLEU: lowercase, punctuation removed, NLTK's Treebank word tokenizer (what `word_tokenize` applies once
punctuation is gone, so the punkt sentence model is not needed), NLTK's English stopwords (embedded
below), Snowball stemming; both empty -> 1; else sentence BLEU-4 with equal weights and smoothing
"method0"; a reference's alternatives (`#` in 2020, extra `|` fields in 2021): the best one; mean over
the reference images, 4 decimals. VQG: the best pair of generated and reference questions per image.

`method0` changed meaning across NLTK releases. The 2020 published scores (BLEU above accuracy) only fit
NLTK <= 3.2.5, where n-gram orders from the first one without a match on are dropped from the geometric
mean (a one-word exact match scores 1); NLTK >= 3.4, pinned by the official repo, scores such an answer
about 0. `bleu_semantics="legacy"` (default) reproduces the published numbers, `"nltk"` calls the
installed NLTK.
"""

from __future__ import annotations

import functools
import math
import re
import string
import warnings
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Literal

import numpy as np

from baselines.evaluation.resampling import ItemSums, rounded

BleuSemantics = Literal["legacy", "nltk"]
ROUNDING = 4

# NLTK's English stopword list (the 179 words of the nltk_data release used in 2020).
ENGLISH_STOPWORDS = frozenset(
    """i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves
    he him his himself she she's her hers herself it it's its itself they them their theirs themselves
    what which who whom this that that'll these those am is are was were be been being have has had
    having do does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on off over
    under again further then once here there when where why how all any both each few more most other
    some such no nor not only own same so than too very s t can will just don don't should should've now
    d ll m o re ve y ain aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't
    haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't
    wasn wasn't weren weren't won won't wouldn wouldn't""".split()
)

# --- accuracy: the MS-COCO VQA answer normalisation -------------------------------------------------
_NUMBERS = {
    "none": "0",
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
_ARTICLES = frozenset({"a", "an", "the"})
_PUNCTUATION = [
    ";",
    "/",
    "[",
    "]",
    '"',
    "{",
    "}",
    "(",
    ")",
    "=",
    "+",
    "\\",
    "_",
    "-",
    ">",
    "<",
    "@",
    "`",
    ",",
    "?",
    "!",
]
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")  # sic: the lookbehind is malformed in the original, kept as is
_COMMA_BETWEEN_DIGITS = re.compile(r"(\d)(,)(\d)")
# Apostrophe-less spellings of common English contractions, restored as the VQA normalisation does.
_CONTRACTIONS = {
    word.replace("'", ""): word
    for word in """ain't aren't can't could've couldn't didn't doesn't don't hadn't hasn't haven't he'd he'll he's
    how'd how'll how's i'd i'll i'm i've isn't it'd it'll let's ma'am might've mightn't must've mustn't needn't
    o'clock shan't she'd she'll should've shouldn't that's there's they'd they'll they're they've wasn't we'd we're
    we've weren't what'll what're what's what've when's where'd where's who'd who'll who's who've why's won't
    would've wouldn't y'all you'd you'll you're you've""".split()
}


def _process_punctuation(text: str) -> str:
    out = text
    for p in _PUNCTUATION:
        if (p + " " in text or " " + p in text) or _COMMA_BETWEEN_DIGITS.search(text) is not None:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    # sic: the original passes re.UNICODE (32) as the count, so at most 32 periods are removed
    return _PERIOD.sub("", out, count=int(re.UNICODE))


def _process_digits_articles(text: str) -> str:
    words = [_NUMBERS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in _ARTICLES]
    return " ".join(_CONTRACTIONS.get(w, w) for w in words)


def normalize_answer(answer: str) -> str:
    """The VQA answer normalisation applied to both sides before the exact-match comparison."""
    answer = answer.replace("\n", " ").replace("\t", " ").strip()
    return _process_digits_articles(_process_punctuation(answer))


Answers = str | Sequence[str]
"""A reference answer: a string with `#` between alternatives, or the alternatives themselves."""


def alternatives(truth: Answers) -> list[str]:
    """The accepted answers of a reference: `a#b` -> [a, b]; a sequence is taken as it is."""
    return truth.split("#") if isinstance(truth, str) else list(truth)


def accuracy(predictions: Mapping[str, str], references: Mapping[str, Answers]) -> float:
    """Mean exact match of normalised answers over the reference images, rounded to 4 decimals.

    A reference with alternatives accepts any of them [assumption: the official MS-COCO style answer
    lists are not public; a single answer behaves exactly as the official evaluator].
    """
    if not references:
        return 0.0
    return round(sum(answer_hits(predictions, references)) / len(references), ROUNDING)


def answer_hits(predictions: Mapping[str, str], references: Mapping[str, Answers]) -> list[int]:
    """Per reference image, in its order: 1 when the normalised answer is one of the accepted ones."""
    hits = []
    for image_id, truth in references.items():
        answer = normalize_answer(predictions.get(image_id, ""))
        hits.append(int(any(normalize_answer(alternative) == answer for alternative in alternatives(truth))))
    return hits


# --- BLEU ------------------------------------------------------------------------------------------
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)


@functools.cache
def _nltk() -> ModuleType:
    """NLTK, imported on first use: validating a run needs none of it (and NLTK is an optional extra)."""
    from baselines.text import nltk_light

    return nltk_light


@functools.cache
def _tokenizer_and_stemmer() -> tuple:
    return _nltk().NLTKWordTokenizer(), _nltk().SnowballStemmer("english")


def bleu_words(text: str) -> list[str]:
    """Lowercase, drop punctuation, tokenise, drop stopwords, stem: the evaluator's preprocessing."""
    return list(_words(text))


@functools.lru_cache(maxsize=1 << 16)
def _words(text: str) -> tuple[str, ...]:
    # cached: answers repeat (yes, no, an organ), and tokenising and stemming were 80% of a BLEU
    tokenizer, stemmer = _tokenizer_and_stemmer()
    words = tokenizer.tokenize(text.lower().translate(_NO_PUNCTUATION))
    return tuple(stemmer.stem(w) for w in words if w.lower() not in ENGLISH_STOPWORDS)


def _legacy_sentence_bleu(reference: list[str], hypothesis: list[str]) -> float:
    """sentence_bleu with SmoothingFunction().method0 as in NLTK <= 3.2.5 (weights 1/4 each)."""
    nltk = _nltk()
    precisions = [nltk.modified_precision([reference], hypothesis, n) for n in range(1, 5)]
    if precisions[0].numerator == 0:
        return 0.0
    kept = []
    for p in precisions:  # orders from the first one without a match on are dropped
        if p.numerator == 0:
            break
        kept.append(p)
    hyp_len = len(hypothesis)
    bp = nltk.brevity_penalty(nltk.closest_ref_length([reference], hyp_len), hyp_len)
    return bp * math.exp(math.fsum(0.25 * math.log(p) for p in kept))


def sentence_score(hypothesis: str, reference: str, semantics: BleuSemantics = "legacy") -> float:
    """BLEU of one answer (or question) against one reference, after the official preprocessing."""
    return _sentence_score(hypothesis, reference, semantics)


@functools.lru_cache(maxsize=1 << 16)
def _sentence_score(hypothesis: str, reference: str, semantics: BleuSemantics) -> float:
    # cached: a pure function of its arguments, and pairs repeat (yes against no)
    candidate, truth = bleu_words(hypothesis), bleu_words(reference)
    if not candidate and not truth:
        return 1.0
    if semantics == "legacy":
        return _legacy_sentence_bleu(truth, candidate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NLTK warns on every zero-count order
        try:
            smoothing = _nltk().SmoothingFunction().method0
            return float(_nltk().sentence_bleu([truth], candidate, smoothing_function=smoothing))
        except ZeroDivisionError:
            return 0.0


def bleu(
    predictions: Mapping[str, str], references: Mapping[str, Answers], semantics: BleuSemantics = "legacy"
) -> float:
    """Mean BLEU over the reference images (alternatives: the best one), rounded to 4 decimals."""
    return _rounded_mean(answer_bleus(predictions, references, semantics))


def answer_bleus(
    predictions: Mapping[str, str], references: Mapping[str, Answers], semantics: BleuSemantics = "legacy"
) -> list[float]:
    """Per reference image, in its order: the BLEU of its answer against the best alternative."""
    scores = []
    for image_id, truth in references.items():
        hypothesis = predictions.get(image_id, "")
        scores.append(max(sentence_score(hypothesis, alternative, semantics) for alternative in alternatives(truth)))
    return scores


def question_bleu(
    generated: Mapping[str, Sequence[str]], references: Mapping[str, Sequence[str]], semantics: BleuSemantics = "legacy"
) -> float:
    """VQG, as the official 2021 evaluator (abachaa/VQA-Med-2021, the only published VQG evaluator): an
    image scores the maximum BLEU over all (generated, reference) question pairs, 0 without a generated
    question; the mean over the reference images, rounded to 4 decimals.
    """
    return _rounded_mean(question_bleus(generated, references, semantics))


def question_bleus(
    generated: Mapping[str, Sequence[str]], references: Mapping[str, Sequence[str]], semantics: BleuSemantics = "legacy"
) -> list[float]:
    """Per reference image, in its order: the best BLEU over its (generated, reference) question pairs."""
    return [
        max((sentence_score(q, t, semantics) for q in generated.get(image_id, ()) for t in truths), default=0.0)
        for image_id, truths in references.items()
    ]


def _rounded_mean(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    total = 0.0
    for value in values:  # one after the other, as the official loop adds (resampling.ItemSums too)
        total += value
    return round(total / len(values), ROUNDING)


def mean_resampling(values: Mapping[str, Sequence[float]]) -> ItemSums:
    """Resamples of metrics that are per-item values (`answer_hits`, `answer_bleus`, `question_bleus`)
    averaged and rounded as `accuracy`, `bleu` and `question_bleu` do."""

    def finish(sums: dict[str, np.ndarray], items: int) -> dict[str, np.ndarray]:
        return {name: rounded(total / items, ROUNDING) for name, total in sums.items()}

    return ItemSums({name: np.asarray(v) for name, v in values.items()}, finish)
