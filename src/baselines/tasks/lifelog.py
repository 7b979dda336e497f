"""ImageCLEF 2020 lifelog: moment retrieval (`lmrt`).

Run file: CSV `topic_id,image_id,confidence`, at most 50 images per topic. Scores: P@10, CR@10 and
F1@10 (primary) per topic, ranked by confidence (not file order; the public 2018 evaluator's file-order
and topic-1-only bugs are not reproduced), a topic without lines scores 0, mean over the judged topics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.data.lifelog import read_judgements, read_metadata, read_topics
from baselines.errors import ProblemCollector, read_lines
from baselines.evaluation.lifelog import lmrt_scores
from baselines.tasks.base import TaskSpec


@dataclass
class LifelogReference:
    """Known topics and images (None: unchecked) and, when loaded, the judgements (topic -> image -> cluster)."""

    topics: set[str] | None
    images: set[str] | None
    ground_truth: dict[str, dict[str, str]] | None = None


class LMRTTask(TaskSpec):
    """Args:
    max_per_topic: Most images per topic in a run file.
    """

    def __init__(self, max_per_topic: int = 50) -> None:
        self.name = "lmrt"
        self.primary_metric = "f1@10"
        self.max_per_topic = max_per_topic
        self.run_file_name = "run.csv"

    def format_run(self, predictions: Sequence[Mapping[str, Any]]) -> str:
        return "".join(
            f"{p['id']},{image},{confidence:.6f}\n"
            for p in predictions
            for image, confidence in zip(p["images"], p["confidences"], strict=True)
        )

    def load_reference(self, ground_truth: str | Path | None, images: str | Path | None) -> LifelogReference:
        """ground_truth: judgements CSV; images: the topics file (CSV/XML) or the metadata CSV."""
        truth = read_judgements(ground_truth) if ground_truth is not None else None
        topics = set(truth) if truth is not None else None
        known_images = None
        if images is not None:
            path = Path(images)
            header = path.read_text(encoding="utf-8-sig").split("\n", 1)[0] if path.suffix != ".xml" else ""
            if "image_id" in header:
                known_images = {image.image_id for image in read_metadata(path)}
            else:
                topics = set(read_topics(path))
        return LifelogReference(topics, known_images, truth)

    def with_metadata(self, reference: LifelogReference, metadata: str | Path) -> LifelogReference:
        reference.images = {image.image_id for image in read_metadata(metadata)}
        return reference

    def parse_run(self, path: str | Path, reference: LifelogReference | None) -> dict[str, list[tuple[str, float]]]:
        problems = ProblemCollector(path)
        result: dict[str, list[tuple[str, float]]] = {}
        seen: dict[tuple[str, str], int] = {}
        topics = reference.topics if reference is not None else None
        images = reference.images if reference is not None else None
        for number, text in read_lines(path, problems):
            fields = [f.strip() for f in text.split(",")]
            if len(fields) != 3:
                problems.add(number, f"{len(fields)} comma-separated values; expected 'topic_id,image_id,confidence'")
                continue
            topic, image, confidence_text = fields
            if topics is not None and topic not in topics:
                problems.add(number, f"unknown topic {topic!r}")
                continue
            if images is not None and image not in images:
                problems.add(number, f"unknown image {image!r}")
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
            rows = result.setdefault(topic, [])
            rows.append((image, confidence))
            if len(rows) == self.max_per_topic + 1:
                problems.add(number, f"topic {topic!r} has more than {self.max_per_topic} images")
        if topics is not None:
            missing = sorted(topics - set(result))
            if missing:
                problems.add(None, f"{len(missing)} topics have no line: {', '.join(missing[:5])}")
        problems.raise_if_any()
        return result

    def score(self, run: dict[str, list[tuple[str, float]]], reference: LifelogReference) -> dict[str, float]:
        if reference.ground_truth is None:
            raise ValueError("lmrt: scoring needs relevance judgements")
        return lmrt_scores(run, reference.ground_truth)


TASKS = [LMRTTask()]
