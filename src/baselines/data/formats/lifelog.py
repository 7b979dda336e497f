"""ImageCLEF 2020 lifelog (LMRT) files: image metadata, topics, relevance judgements with clusters."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.parsers import expat

from baselines.errors import FormatError, Problem, ProblemCollector, read_csv_rows, read_lines


@dataclass(frozen=True)
class LifelogImage:
    image_id: str
    time: float  # seconds
    caption: str  # metadata words for optional contrastive fine-tuning


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return datetime.fromisoformat(text).timestamp()
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def read_metadata(path: str | Path) -> list[LifelogImage]:
    """Images in time order, with captions made of location, activity and concepts."""
    problems = ProblemCollector(path)
    images = []
    first: dict[str, int] = {}
    for number, row in read_csv_rows(path, ("image_id", "timestamp"), problems)[1]:
        image_id = row["image_id"]
        if image_id in first:
            problems.add(number, f"duplicate image {image_id!r} (first on line {first[image_id]})")
            continue
        first[image_id] = number
        try:
            time = _seconds(row["timestamp"])
        except ValueError:
            problems.add(number, f"timestamp {row['timestamp']!r} is neither finite seconds nor an ISO date-time")
            continue
        words = [row.get("activity", ""), row.get("location", ""), *row.get("concepts", "").split(";")]
        images.append(LifelogImage(image_id, time, " ".join(w.strip() for w in words if w.strip())))
    problems.raise_if_any()
    return sorted(images, key=lambda image: (image.time, image.image_id))


def _query(title: str, description: str) -> str:
    return ". ".join(part for part in (title, description) if part)


def read_topics(path: str | Path) -> dict[str, str]:
    """topic id -> query text (title and description), from CSV or XML (`<topic><id/><title/>...`)."""
    problems = ProblemCollector(path)
    found: list[tuple[int, str, str]] = []  # (line, topic id, query)
    if Path(path).suffix.lower() == ".xml":
        for _ in read_lines(path, problems):  # empty, undecodable or binary files: clear problems with lines
            pass
        problems.raise_if_any()
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise FormatError([Problem(str(path), exc.position[0], f"invalid XML: {exc}")]) from None
        for topic, line in zip(root.iter("topic"), _start_lines(Path(path), "topic"), strict=True):
            fields = {child.tag.lower(): (child.text or "").strip() for child in topic}
            if not fields.get("id") or not fields.get("title"):
                problems.add(line, f"a <topic> needs non-empty <id> and <title>; got {sorted(fields)}")
                continue
            found.append((line, fields["id"], _query(fields["title"], fields.get("description", ""))))
        if not found and not problems:
            problems.add(None, "no <topic> element")
    else:
        for number, row in read_csv_rows(path, ("topic_id", "title"), problems)[1]:
            found.append((number, row["topic_id"], _query(row["title"], row.get("description", ""))))
    topics: dict[str, str] = {}
    for at, topic_id, query in found:
        if topic_id in topics:
            problems.add(at, f"duplicate topic {topic_id!r}")
        topics[topic_id] = query
    problems.raise_if_any()
    return topics


def _start_lines(path: Path, tag: str) -> list[int]:
    """Line numbers of the start tags called tag, in document order (ElementTree keeps none)."""
    lines: list[int] = []
    parser = expat.ParserCreate()

    def start(name: str, attributes: dict[str, str]) -> None:
        if name == tag:
            lines.append(parser.CurrentLineNumber)

    parser.StartElementHandler = start
    parser.Parse(path.read_bytes(), True)
    return lines


def read_judgements(path: str | Path) -> dict[str, dict[str, str]]:
    """topic id -> {relevant image id: cluster id}."""
    problems = ProblemCollector(path)
    result: dict[str, dict[str, str]] = {}
    first: dict[tuple[str, str], int] = {}
    for number, row in read_csv_rows(path, ("topic_id", "image_id", "cluster_id"), problems)[1]:
        key = (row["topic_id"], row["image_id"])
        if key in first:
            problems.add(number, f"image {key[1]!r} judged twice for topic {key[0]!r} (first on line {first[key]})")
            continue
        first[key] = number
        result.setdefault(key[0], {})[key[1]] = row["cluster_id"]
    problems.raise_if_any()
    return result
