"""ImageCLEF 2020 medical caption: concept detection (`concepts`) and an image captioner (`caption`).

- concepts run file: `image_id<TAB>CUI1;CUI2;...` (the list may be empty); primary metric `f1`.
- caption run file: `image_id<TAB>caption`; primary metric `bleu` (sacrebleu corpus BLEU, lowercased).

Validation follows the official evaluator: no more than 2 tab-separated fields, known image ids,
no duplicate image, no duplicate concept within an image, at most `max_concepts` concepts, and one
line per test image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.data.formats.medcaption import CUI, read_concepts, read_tab_file, split_concepts
from baselines.data.images import find_images_by_stem as find_images
from baselines.errors import ProblemCollector, read_lines
from baselines.evaluation.medcaption import caption_scores, concept_f1
from baselines.tasks.base import TaskSpec, predicted_truth
from baselines.types import PredictionSet


@dataclass
class CaptionReference:
    """Expected image ids (None: any id) and, when loaded, the ground truth per image."""

    ids: set[str] | None
    ground_truth: dict[str, Any] | None = None


def parse_tab_run(
    path: str | Path, reference: CaptionReference | None, what: str
) -> tuple[dict[str, tuple[int, str]], ProblemCollector]:
    """Checks the shared line rules of both run files and returns id -> (line number, second field)."""
    problems = ProblemCollector(path)
    result: dict[str, tuple[int, str]] = {}
    first: dict[str, int] = {}
    for number, text in read_lines(path, problems):
        fields = text.split("\t")
        if len(fields) > 2:
            problems.add(number, f"{len(fields)} tab-separated fields; expected 'image_id<TAB>{what}'")
            continue
        image_id = fields[0]
        if not image_id.strip() or image_id != image_id.strip():
            problems.add(number, f"image id {image_id!r} is empty or has surrounding spaces")
            continue
        if image_id in first:
            problems.add(number, f"duplicate image {image_id!r} (first on line {first[image_id]})")
            continue
        first[image_id] = number
        if reference is not None and reference.ids is not None and image_id not in reference.ids:
            problems.add(number, f"unknown image {image_id!r}: not in the test set")
            continue
        result[image_id] = (number, fields[1] if len(fields) == 2 else "")
    if reference is not None and reference.ids is not None and len(first) != len(reference.ids):
        missing = sorted(reference.ids - set(first))
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        problems.add(None, f"{len(first)} images in the run, {len(reference.ids)} in the test set; missing: {shown}")
    return result, problems


class _TabSpec(TaskSpec):
    ground_truth_what: str
    reference_hint = "give --images <test image folder>, or --gt <ground truth>"

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
        max_concepts: Most concepts allowed per image in a run file.
    """

    fusion = "label_sets"

    def __init__(self, max_concepts: int = 100) -> None:
        self.name = "concepts"
        self.primary_metric = "f1"
        self.max_concepts = max_concepts

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        return "".join(f"{p['id']}\t{';'.join(p['concepts'])}\n" for p in predictions)

    def read_ground_truth(self, path: str | Path) -> dict[str, Any]:
        return read_concepts(path)

    def parse_run(self, path: str | Path, reference: CaptionReference | None) -> dict[str, list[str]]:
        raw, problems = parse_tab_run(path, reference, "CUI1;CUI2;...")
        result = {}
        for image_id, (number, text) in raw.items():
            concepts = split_concepts(text)
            if len(concepts) != len(set(concepts)):
                duplicated = sorted({c for c in concepts if concepts.count(c) > 1})
                problems.add(number, f"duplicate concept(s) {', '.join(duplicated)} for image {image_id!r}")
            if len(concepts) > self.max_concepts:
                problems.add(number, f"{len(concepts)} concepts for {image_id!r}; at most {self.max_concepts}")
            result[image_id] = concepts
        every = [c for concepts in result.values() for c in concepts]
        if every and not any(CUI.match(c) for c in every):
            # the official checks would pass such a file, but it cannot score: most likely another task's file
            problems.add(None, f"no concept looks like a UMLS CUI (C and 7 digits), e.g. {every[0]!r}")
        problems.raise_if_any()
        return result

    def score_against(self, run: dict[str, list[str]], truth: dict[str, Any]) -> dict[str, float]:
        return {"f1": concept_f1(run, truth)}


class CaptionSpec(_TabSpec):
    """Captioning: one caption per image, scored by corpus BLEU and chrF."""

    fusion = "caption"

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

    def parse_run(self, path: str | Path, reference: CaptionReference | None) -> dict[str, str]:
        raw, problems = parse_tab_run(path, reference, "caption")
        captions = [text for _, text in raw.values() if text.strip()]
        if captions and all(all(CUI.match(c) for c in split_concepts(t)) for t in captions):
            problems.add(None, "every caption is a list of CUIs: this looks like a concept-detection run")
        problems.raise_if_any()
        return {image_id: text for image_id, (_, text) in raw.items()}

    def score_against(self, run: dict[str, str], truth: dict[str, Any]) -> dict[str, float]:
        return caption_scores(run, truth)


TASKS = [ConceptSpec(), CaptionSpec()]
