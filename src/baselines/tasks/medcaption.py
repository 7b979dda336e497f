"""ImageCLEF 2020 medical caption: concept detection (`concepts`) and an image captioner (`caption`).

- concepts run file: `image_id<TAB>CUI1;CUI2;...` (the list may be empty); primary metric `f1`.
- caption run file: `image_id<TAB>caption`; primary metric `bleu` (sacrebleu corpus BLEU, lowercased).

The concepts validator accepts what the official evaluator (crowdAI/CLEF_evaluators_2018
concept_detection) accepts and refuses what it refuses: no blank line or UTF-8 BOM, no more than 2
tab-separated fields, known image ids, no duplicate image, no concept written twice for an image
(exactly: `C1;c1` passes), at most 1286 concepts, one line per test image. Accepted but suspicious
(empty or space-padded concepts, case variants, no CUI-like concept, over 100 concepts) is a FormatWarning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.errors import FirstLines, ProblemCollector, shown_ids
from baselines.evaluation.medcaption import caption_resampling, caption_scores, concept_f1, concept_resampling
from baselines.evaluation.resampling import ItemSums, PerResample
from baselines.io.formats.medcaption import CUI, read_concepts, read_tab_file, run_concepts, split_concepts
from baselines.io.images import find_images_by_stem as find_images
from baselines.io.lines import read_lines
from baselines.tasks.base import TaskSpec, mostly, predicted_truth
from baselines.types import PredictionSet


@dataclass
class CaptionReference:
    """Expected image ids (None: any id) and, when loaded, the ground truth per image."""

    ids: set[str] | None
    ground_truth: dict[str, Any] | None = None


def iter_tab_run(
    path: str | Path, reference: CaptionReference | None, what: str, problems: ProblemCollector, strict: bool = False
) -> Iterator[tuple[int, str, str | None]]:
    """The lines of a run file that pass the shared rules of both run files, one at a time (nothing is held
    but the ids seen): (line number, image id, second field or None for a line without a tab).

    Args:
        strict: Read as the official evaluator does (see `read_lines`).
    """
    first: FirstLines[str] = FirstLines(problems, "image")
    for number, text in read_lines(path, problems, strict=strict):
        fields = text.split("\t")
        if len(fields) > 2:
            problems.add(number, f"{len(fields)} tab-separated fields; expected 'image_id<TAB>{what}'")
            continue
        image_id = fields[0]
        if not image_id.strip() or image_id != image_id.strip():
            problems.add(number, f"image id {image_id!r} is empty or has surrounding spaces")
            continue
        if not first.add(image_id, number):
            continue
        if reference is not None and reference.ids is not None and image_id not in reference.ids:
            problems.add(number, f"unknown image {image_id!r}: not in the test set")
            continue
        yield number, image_id, fields[1] if len(fields) == 2 else None
    if reference is not None and reference.ids is not None and len(first) != len(reference.ids):
        # worded apart from `ProblemCollector.no_line` (pinned by tests/conformance/concepts)
        missing = sorted(reference.ids - set(first.lines))
        shown = shown_ids(missing, dots=True)
        problems.add(None, f"{len(first)} images in the run, {len(reference.ids)} in the test set; missing: {shown}")


def parse_tab_run(
    path: str | Path, reference: CaptionReference | None, what: str, strict: bool = False
) -> tuple[dict[str, tuple[int, str | None]], ProblemCollector]:
    """Checks the shared line rules of both run files.

    Returns:
        id -> (line number, second field or None for a line without a tab), and the problems so far.
    """
    problems = ProblemCollector(path)
    lines = iter_tab_run(path, reference, what, problems, strict)
    return {image_id: (number, text) for number, image_id, text in lines}, problems


def _second_fields(lines: Sequence[str]) -> list[str]:
    """The non-empty second fields of `id<TAB>value` lines."""
    return [line.split("\t", 1)[1] for line in lines if "\t" in line and line.split("\t", 1)[1].strip()]


def _cuis(text: str) -> bool:
    return all(CUI.match(concept) for concept in split_concepts(text))


class _TabSpec(TaskSpec):
    reference_hint = "give --images <test image folder>, or --gt <ground truth>"
    id_separators = "\t"

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> CaptionReference:
        ids = set(find_images(images)) if images is not None else None
        truth = self.read_ground_truth(ground_truth) if ground_truth is not None else None
        if ids is None and truth is not None:
            ids = set(truth)
        return CaptionReference(ids, truth)

    def reference_for(self, predicted: PredictionSet, ground_truth: str | Path | None) -> CaptionReference:
        truth = None
        if ground_truth is not None:
            truth = predicted_truth(self.read_ground_truth(ground_truth), predicted, ground_truth)
        return CaptionReference(set(predicted.ids), truth)

    def read_ground_truth(self, path: str | Path) -> dict[str, Any]:
        raise NotImplementedError

    def score(self, run: Any, reference: CaptionReference) -> dict[str, float]:
        if reference.ground_truth is None:
            raise ValueError(f"{self.name}: scoring needs ground truth")
        return self.score_against(run, reference.ground_truth)

    def score_against(self, run: Any, truth: dict[str, Any]) -> dict[str, float]:
        raise NotImplementedError


class ConceptSpec(_TabSpec):
    """Concept detection: multi-label UMLS CUIs per image.

    Args:
        max_concepts: Most concepts allowed per image in a run file (an error above): 1286, the official
            evaluator's cap.
        warn_concepts: Above this many concepts for an image, a FormatWarning (no realistic prediction has
            that many; the official evaluator accepts them).
    """

    kind = "label_sets"
    ground_truth_grammar = "'image_id<TAB>C1;C2;...' (UMLS CUIs)"

    def __init__(self, max_concepts: int = 1286, warn_concepts: int = 100) -> None:
        self.name = "concepts"
        self.primary_metric = "f1"
        self.max_concepts = max_concepts
        self.warn_concepts = warn_concepts

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        return "".join(f"{p['id']}\t{';'.join(p['concepts'])}\n" for p in predictions)

    def read_ground_truth(self, path: str | Path) -> dict[str, Any]:
        return read_concepts(path)

    def sniff(self, lines: Sequence[str]) -> bool | None:
        """Tab-separated lines whose second field is a list of CUIs (images without concepts cannot tell)."""
        if mostly(lines, lambda line: "\t" not in line):
            return False
        filled = _second_fields(lines)
        return mostly(filled, _cuis) if filled else None

    def parse_run(
        self, path: str | Path, reference: CaptionReference | None, keep: bool = True
    ) -> dict[str, list[str]]:
        """Returns image id -> the concepts as the official evaluator scores them (see `run_concepts`).

        Args:
            keep: Build that result; False only validates, line by line, holding nothing but the ids seen.
        """
        problems = ProblemCollector(path)
        result: dict[str, list[str]] = {}
        cui_seen = False
        example = ""
        for number, image_id, text in iter_tab_run(path, reference, "CUI1;CUI2;...", problems, strict=True):
            if text is None:
                if number == 1:
                    # the official script crashes (UnboundLocalError) on a first line without a tab; later
                    # lines without one pass as an empty list
                    problems.add(number, "no tab after the image id: write 'image_id<TAB>' for an empty list")
                text = ""
            written = text.split(";")  # the official duplicate and count checks see the entries as written
            if len(set(written)) != len(written):
                duplicated = sorted({c for c in written if written.count(c) > 1})
                shown = ", ".join(c if c.strip() == c and c else repr(c) for c in duplicated)
                problems.add(number, f"duplicate concept(s) {shown} for image {image_id!r}")
            elif len(written) > self.max_concepts:
                problems.add(number, f"{len(written)} concepts for {image_id!r}; at most {self.max_concepts}")
            else:
                if len(written) > self.warn_concepts:
                    problems.warn(number, f"{len(written)} concepts for {image_id!r}: more than {self.warn_concepts}")
                self._warn_suspicious(problems, number, text, written)
            concepts = run_concepts(text)
            if not cui_seen:  # is any concept of the file CUI-like? (another task's file has none)
                for concept in concepts:
                    stripped = concept.strip()
                    example = example or stripped
                    if stripped and CUI.match(stripped):
                        cui_seen = True
                        break
            if keep:
                result[image_id] = concepts
        if example and not cui_seen:
            problems.warn(
                None,
                f"no concept looks like a UMLS CUI (C and 7 digits), e.g. {example!r}: is it another task's file?",
            )
        problems.raise_if_any()
        return result

    def validate(self, path: str | Path, reference: CaptionReference | None) -> None:
        self.parse_run(path, reference, keep=False)

    @staticmethod
    def _warn_suspicious(problems: ProblemCollector, number: int, text: str, written: list[str]) -> None:
        """What the official evaluator accepts but scores in a way the author hardly meant."""
        if len(written) > 1 and "" in written:
            problems.warn(
                number,
                "empty concept (';;' or a trailing ';'): the official evaluator scores it as a predicted "
                "concept, a false positive",
            )
        padded = [c for c in written if c.strip() != c and c.strip()] if any(ch.isspace() for ch in text) else []
        if padded:
            problems.warn(
                number,
                f"concept(s) {', '.join(map(repr, padded[:3]))} with spaces: the official evaluator keeps the "
                "spaces, so they match no ground-truth concept",
            )
        if text.upper() == text:
            return  # no lower-case letter: no case variants
        by_case: dict[str, list[str]] = {}
        for concept in written:
            by_case.setdefault(concept.upper(), []).append(concept)
        variants = [" and ".join(group) for group in by_case.values() if len(group) > 1]
        if variants:
            problems.warn(
                number,
                f"{', '.join(variants[:3])}: the same concept in different letter cases, which the official "
                "evaluator accepts and scores once",
            )

    def score_against(self, run: dict[str, list[str]], truth: dict[str, Any]) -> dict[str, float]:
        return {"f1": concept_f1(run, truth)}

    def resampling(self, run: dict[str, list[str]], reference: CaptionReference, items: Sequence[str]) -> ItemSums:
        truth = {item: reference.ground_truth[item] for item in items}  # type: ignore[index]
        return concept_resampling(run, truth)


class CaptionSpec(_TabSpec):
    """Captioning: one caption per image, scored by corpus BLEU and chrF."""

    kind = "texts"
    ground_truth_grammar = "'image_id<TAB>caption'"

    def __init__(self) -> None:
        self.name = "caption"
        self.primary_metric = "bleu"

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        lines = []
        for p in predictions:
            caption = " ".join(str(p["texts"][0]).split()) if p["texts"] else ""
            lines.append(f"{p['id']}\t{caption}\n")
        return "".join(lines)

    def read_ground_truth(self, path: str | Path) -> dict[str, Any]:
        return read_tab_file(path, "caption")

    def sniff(self, lines: Sequence[str]) -> bool | None:
        """Tab-separated lines whose second field is text, not a list of CUIs (a concepts file)."""
        if mostly(lines, lambda line: "\t" not in line):
            return False
        filled = _second_fields(lines)
        return not mostly(filled, _cuis) if filled else None

    def parse_run(self, path: str | Path, reference: CaptionReference | None) -> dict[str, str]:
        raw, problems = parse_tab_run(path, reference, "caption")
        captions = [text for _, text in raw.values() if text and text.strip()]
        if captions and all(all(CUI.match(c) for c in split_concepts(t)) for t in captions):
            problems.add(None, "every caption is a list of CUIs: this looks like a concept-detection run")
        problems.raise_if_any()
        return {image_id: text or "" for image_id, (_, text) in raw.items()}

    def score_against(self, run: dict[str, str], truth: dict[str, Any]) -> dict[str, float]:
        return caption_scores(run, truth)

    def resampling(self, run: dict[str, str], reference: CaptionReference, items: Sequence[str]) -> PerResample:
        truth = {item: reference.ground_truth[item] for item in items}  # type: ignore[index]
        return caption_resampling(run, truth)


TASKS = [ConceptSpec(), CaptionSpec()]
