"""ImageCLEF 2020 lifelog: moment retrieval (`lmrt`) and sport performance (`spll`).

LMRT run file: `topic_id,image_id,confidence` lines (a space after the commas is fine: fields are stripped,
as the organisers' evaluator does), image ids as the ground truth names them, with their file extension.
No per-topic cap: none is published for 2020 and the only public evaluator (2018) has none; more than 50
images for a topic is a FormatWarning. Scores: P@10, CR@10 (clusters found / all clusters of the topic)
and F1@10 (primary) per topic, ranked by confidence (not file order; the public 2018 evaluator's file-order,
topic-1-only and cluster-count bugs are not reproduced), a topic without lines scores 0, mean over the
judged topics. Sources and deviations: docs/evaluation.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.errors import ProblemCollector
from baselines.evaluation.lifelog import lmrt_resampling, lmrt_scores, spll_resampling, spll_scores
from baselines.evaluation.resampling import ItemSums
from baselines.io.formats.lifelog import (
    cluster_counts,
    read_clusters,
    read_judgements,
    read_metadata,
    read_topics,
)
from baselines.io.formats.tabular import read_table
from baselines.io.images import find_images_by_name
from baselines.io.lines import read_lines
from baselines.tasks.base import TaskSpec, predicted_truth
from baselines.types import PredictionSet

log = logging.getLogger(__name__)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


@dataclass
class LifelogReference:
    """Known topics and images (None: unchecked) and, when loaded, the judgements (topic -> image -> cluster)
    with each topic's number of clusters."""

    topics: set[str] | None
    images: set[str] | frozenset[str] | None
    ground_truth: dict[str, dict[str, int]] | None = None
    cluster_counts: dict[str, int] | None = None


def clusters_file_for(ground_truth: str | Path) -> Path | None:
    """The released clusters file next to a ground-truth file, if there is one.

    `ImageCLEF2020_dev_gt.txt` comes with `ImageCLEF2020_dev_clusters.txt`: the last `gt` of the file
    name becomes `clusters` (`gt.csv` -> `clusters.csv`).
    """
    path = Path(ground_truth)
    stem, gt, rest = path.name.rpartition("gt")
    if not gt:
        return None
    candidate = path.with_name(f"{stem}clusters{rest}")
    return candidate if candidate.is_file() else None


def load_truth(ground_truth: str | Path) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """The judgements and each topic's number of clusters, cross-checked with the clusters file next to it."""
    truth = read_judgements(ground_truth)
    clusters_path = clusters_file_for(ground_truth)
    if clusters_path is None:
        return truth, cluster_counts(truth, None, ground_truth)
    log.info("%s: cluster counts from %s", ground_truth, clusters_path)
    return truth, cluster_counts(truth, read_clusters(clusters_path), clusters_path)


class LMRTSpec(TaskSpec):
    """Args:
    warn_above: Images per topic above which a run gets a FormatWarning (it stays valid: no cap is
        published for 2020; only the top 10 by confidence are scored).
    """

    kind = "rankings"
    id_separators = ","

    def __init__(self, warn_above: int = 50) -> None:
        self.name = "lmrt"
        self.primary_metric = "f1@10"
        self.warn_above = warn_above
        self.run_file_name = "run.csv"

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        return "".join(
            f"{p['id']},{image},{confidence:.6f}\n"
            for p in predictions
            for image, confidence in zip(p["images"], p["confidences"], strict=True)
        )

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> LifelogReference:
        """ground_truth: the released ground truth (`topic, image_id, cluster`); its clusters file, when next
        to it (`*_clusters.txt`), is cross-checked. images: the image folder (the released day folders: ids
        are file names), the metadata CSV, or the topics file (CSV/XML)."""
        truth, counts = load_truth(ground_truth) if ground_truth is not None else (None, None)
        topics = set(truth) if truth is not None else None
        known_images = None
        if images is not None and Path(images).is_dir():
            known_images = set(find_images_by_name(images))
        elif images is not None:
            path = Path(images)
            header = b""
            if path.is_file() and path.suffix != ".xml":
                with path.open("rb") as handle:
                    header = handle.readline()  # a metadata CSV names image_id; a topics file does not
            if b"image_id" in header:
                known_images = {image.image_id for image in read_metadata(path)}
            else:
                topics = set(read_topics(path))
        return LifelogReference(topics, known_images, truth, counts)

    def reference_for(self, predicted: PredictionSet, ground_truth: str | Path | None) -> LifelogReference:
        truth = counts = None
        if ground_truth is not None:
            judged, all_counts = load_truth(ground_truth)
            truth = predicted_truth(judged, predicted, ground_truth)
            counts = {topic: all_counts[topic] for topic in truth}
        return LifelogReference(set(predicted.ids), predicted.candidates, truth, counts)

    reference_hint = "give --images <topics file>, or --gt <ground truth, e.g. ImageCLEF2020_dev_gt.txt>"

    def unchecked(self, reference: LifelogReference | None) -> list[str]:
        missing = super().unchecked(reference)
        if reference is None or reference.images is None:
            missing.append("image ids against the collection (give --images <image folder or metadata CSV>)")
        return missing

    def parse_run(self, path: str | Path, reference: LifelogReference | None) -> dict[str, list[tuple[str, float]]]:
        problems = ProblemCollector(path)
        result: dict[str, list[tuple[str, float]]] = {}
        seen: dict[tuple[str, str], int] = {}
        topics = reference.topics if reference is not None else None
        images = reference.images if reference is not None else None
        bare: list[int] = []  # lines whose image id has no file extension
        for number, text in read_lines(path, problems, strict=True):
            fields = [f.strip() for f in text.split(",")]
            if len(fields) != 3:
                problems.add(number, f"{len(fields)} comma-separated values; expected 'topic_id,image_id,confidence'")
                continue
            topic, image, confidence_text = fields
            if topics is not None and topic not in topics:
                problems.add(number, f"unknown topic {topic!r}")
                continue
            has_extension = Path(image).suffix.lower() in IMAGE_EXTENSIONS
            if images is not None and image not in images:
                hint = "" if has_extension else " (ids carry their file extension, e.g. '.jpg', as in the ground truth)"
                problems.add(number, f"unknown image {image!r}{hint}")
                continue
            if (topic, image) in seen:
                problems.add(number, f"image {image!r} already listed for topic {topic!r} on line {seen[topic, image]}")
                continue
            try:
                confidence = float(confidence_text)
            except ValueError:
                problems.add(number, f"confidence {confidence_text!r} is not a number")
                continue
            if not math.isfinite(confidence) or not 0.0 <= confidence <= 1.0:
                problems.add(number, f"confidence {confidence_text!r} must be in [0, 1]")
                continue
            seen[topic, image] = number
            if not has_extension:
                bare.append(number)
            rows = result.setdefault(topic, [])
            rows.append((image, confidence))
            if len(rows) == self.warn_above + 1:
                problems.warn(
                    number,
                    f"topic {topic!r} has more than {self.warn_above} images: accepted (no cap is published for "
                    "2020, the organisers' evaluator has none), but only the top 10 by confidence are scored",
                )
        if bare and images is None:
            problems.warn(
                bare[0],
                f"{len(bare)} image ids have no file extension (e.g. line {bare[0]}): the ground truth names images "
                "with theirs ('20160905_180822_000.jpg'), so these can never count as relevant",
            )
        if topics is not None:
            problems.no_line(sorted(topics), result, "topics")
        problems.raise_if_any()
        return result

    def score(self, run: dict[str, list[tuple[str, float]]], reference: LifelogReference) -> dict[str, float]:
        if reference.ground_truth is None:
            raise ValueError("lmrt: scoring needs relevance judgements")
        return lmrt_scores(run, reference.ground_truth, cluster_counts=reference.cluster_counts)

    def resampling(
        self, run: dict[str, list[tuple[str, float]]], reference: LifelogReference, items: Sequence[str]
    ) -> ItemSums:
        judgements = {item: reference.ground_truth[item] for item in items}  # type: ignore[index]
        return lmrt_resampling(run, judgements, cluster_counts=reference.cluster_counts)


@dataclass
class ParticipantReference:
    ids: set[str] | None
    ground_truth: dict[str, float] | None = None


class SPLLSpec(TaskSpec):
    """SPLL: one predicted change (e.g. running speed, km/h) per participant.

    Run file `participant_id,prediction` [assumption: the 2020 SPLL run format is not public]; metrics
    sign accuracy (primary: did the change go the right way) and mean absolute difference.
    """

    reference_hint = "give --images <features CSV of the predicted participants>, or --gt <targets CSV>"
    kind = "values"
    id_separators = ","

    def __init__(self) -> None:
        self.name = "spll"
        self.primary_metric = "sign_accuracy"
        self.run_file_name = "run.csv"

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        return "".join(f"{p['id']},{p['value']:.6f}\n" for p in predictions)

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> ParticipantReference:
        """ground_truth: targets CSV; images: the features CSV of the predicted participants."""
        truth = {k: float(v[0]) for k, v in read_table(ground_truth)[1].items()} if ground_truth else None
        ids = set(read_table(images)[1]) if images is not None else (set(truth) if truth is not None else None)
        return ParticipantReference(ids, truth)

    def reference_for(self, predicted: PredictionSet, ground_truth: str | Path | None) -> ParticipantReference:
        truth = None
        if ground_truth is not None:
            targets = {k: float(v[0]) for k, v in read_table(ground_truth)[1].items()}
            truth = predicted_truth(targets, predicted, ground_truth)
        return ParticipantReference(set(predicted.ids), truth)

    def parse_run(self, path: str | Path, reference: ParticipantReference | None) -> dict[str, float]:
        problems = ProblemCollector(path)
        result: dict[str, float] = {}
        for number, text in read_lines(path, problems):
            fields = [f.strip() for f in text.split(",")]
            if len(fields) != 2:
                problems.add(number, f"{len(fields)} values; expected 'participant_id,prediction'")
                continue
            if fields[0] in result:
                problems.add(number, f"duplicate participant {fields[0]!r}")
                continue
            if reference is not None and reference.ids is not None and fields[0] not in reference.ids:
                problems.add(number, f"unknown participant {fields[0]!r}")
                continue
            try:
                value = float(fields[1])
            except ValueError:
                problems.add(number, f"prediction {fields[1]!r} is not a number")
                continue
            if not math.isfinite(value):
                problems.add(number, f"prediction {fields[1]!r} must be finite")
                continue
            result[fields[0]] = value
        if reference is not None and reference.ids is not None:
            problems.no_line(sorted(reference.ids), result, "participants")
        problems.raise_if_any()
        return result

    def score(self, run: dict[str, float], reference: ParticipantReference) -> dict[str, float]:
        if reference.ground_truth is None:
            raise ValueError("spll: scoring needs the targets")
        return spll_scores(run, reference.ground_truth)

    def resampling(self, run: dict[str, float], reference: ParticipantReference, items: Sequence[str]) -> ItemSums:
        return spll_resampling(run, {item: reference.ground_truth[item] for item in items})  # type: ignore[index]


TASKS = [LMRTSpec(), SPLLSpec()]
