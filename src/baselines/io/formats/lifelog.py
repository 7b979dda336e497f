"""ImageCLEF 2020 lifelog (LMRT) files: image metadata, topics, relevance judgements with clusters.

The ground truth and clusters files are read in their released layout (checked against the 2020
development files, RRibeiro8/Loggy@d4bb27e:WebApp/Loggy/media/ImageCLEF2020_dev_{gt,clusters}.txt;
excerpts in tests/fixtures/real/lifelog). Metadata and topics are in the project's documented layout
(the released topics are a PDF; docs/tasks/lifelog.md). Without a metadata file, an image's time is read
from its released file name (`images_from_names`).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from xml.parsers import expat

from baselines.errors import FirstLines, FormatError, Problem, ProblemCollector
from baselines.io.lines import read_csv_rows, read_lines


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
    """Images in time order, with captions made of location, activity and concepts.

    `image_id` is the image's file name as the ground truth names it, extension included
    (`20160905_180822_000.jpg`, `B00007061_21I6X0_20180505_175842E.JPG`).
    """
    problems = ProblemCollector(path)
    images = []
    first: FirstLines[str] = FirstLines(problems, "image")
    for number, row in read_csv_rows(path, ("image_id", "timestamp"), problems)[1]:
        image_id = row["image_id"]
        if not first.add(image_id, number):
            continue
        try:
            time = _seconds(row["timestamp"])
        except ValueError:
            problems.add(number, f"timestamp {row['timestamp']!r} is neither finite seconds nor an ISO date-time")
            continue
        words = [row.get("activity", ""), row.get("location", ""), *row.get("concepts", "").split(";")]
        images.append(LifelogImage(image_id, time, " ".join(w.strip() for w in words if w.strip())))
    problems.raise_if_any()
    return sorted(images, key=lambda image: (image.time, image.image_id))


# The released image names carry the capture time: `b00001213_21i6bq_20150306_174403e.jpg` (2015),
# `20160905_180822_000.jpg` (2016), `B00007061_21I6X0_20180505_175842E.JPG` (2018) (ImageCLEF2020_dev_gt.txt).
_NAME_TIME = re.compile(r"(?<!\d)(\d{8})_(\d{6})(?!\d)")


def time_from_name(image_id: str) -> float | None:
    """Seconds of the `YYYYMMDD_HHMMSS` capture time in a released image name (read as UTC: only the
    differences between images are used), or None if the name has none."""
    match = _NAME_TIME.search(image_id)
    if match is None:
        return None
    try:
        moment = datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc).timestamp()


def images_from_names(image_ids: Iterable[str], source: str | Path) -> list[LifelogImage]:
    """The collection without a metadata file: every image, timed by its file name, in time order, with no
    caption (captions, for fine-tuning, come from a metadata CSV).

    Raises:
        FormatError: Naming the images whose name holds no `YYYYMMDD_HHMMSS` time.
    """
    images, untimed = [], []
    for image_id in image_ids:
        time = time_from_name(image_id)
        if time is None:
            untimed.append(image_id)
        else:
            images.append(LifelogImage(image_id, time, ""))
    if untimed:
        raise FormatError(
            [
                Problem(
                    str(source),
                    None,
                    f"{len(untimed)} image names hold no YYYYMMDD_HHMMSS time (e.g. {', '.join(untimed[:3])}): "
                    "give data.metadata=<CSV image_id,timestamp,...> with their times",
                )
            ]
        )
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


def _official_rows(
    path: str | Path, problems: ProblemCollector, layout: str, count: int
) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of a headerless `a, b[, c]` file as released (comma, optional spaces, no header)."""
    for number, text in read_lines(path, problems):
        fields = [field.strip() for field in text.split(",")]
        if len(fields) != count:
            problems.add(number, f"{len(fields)} comma-separated values; expected {layout!r}")
            continue
        empty = [name for name, field in zip(layout.split(", "), fields, strict=True) if not field]
        if empty:
            problems.add(number, f"empty {', '.join(empty)}; expected {layout!r}")
            continue
        yield number, fields


def _cluster_number(text: str, number: int, layout: str, problems: ProblemCollector) -> int | None:
    try:
        return int(text)
    except ValueError:
        hint = " (a header row? the released file has none)" if number == 1 else ""
        problems.add(number, f"cluster {text!r} is not an integer; expected {layout!r}{hint}")
        return None


def _judged_twice(key: tuple[str, str]) -> str:
    return f"image {key[1]!r} judged twice for topic {key[0]!r}"


def _listed_twice(key: tuple[str, int]) -> str:
    return f"cluster {key[1]} of topic {key[0]!r} listed twice"


def read_judgements(path: str | Path) -> dict[str, dict[str, int]]:
    """The LMRT ground truth as released: topic id -> {relevant image id: cluster number}.

    The 2020 development ground truth (`ImageCLEF2020_dev_gt.txt`) has no header and one
    `topic, image_id, cluster` line per relevant image, e.g. `1, b00001213_21i6bq_20150306_174403e.jpg, 1`:
    comma and a space, image ids with their file extension, integer clusters. Fields are stripped (as the
    organisers' evaluator does); ids are kept as written (never lower-cased: 2018 ids are upper case,
    `B00007061_21I6X0_20180505_175842E.JPG`).
    """
    layout = "topic, image_id, cluster"
    problems = ProblemCollector(path)
    result: dict[str, dict[str, int]] = {}
    first: FirstLines[tuple[str, str]] = FirstLines(problems, _judged_twice)
    for number, (topic, image, cluster_text) in _official_rows(path, problems, layout, 3):
        cluster = _cluster_number(cluster_text, number, layout, problems)
        if cluster is None or not first.add((topic, image), number):
            continue
        result.setdefault(topic, {})[image] = cluster
    problems.raise_if_any()
    return result


def read_clusters(path: str | Path) -> dict[str, set[int]]:
    """The clusters file as released (`ImageCLEF2020_dev_clusters.txt`): topic id -> its cluster numbers.

    One `topic, cluster` line per cluster, e.g. `1, 4`; no header, no cluster names.
    """
    layout = "topic, cluster"
    problems = ProblemCollector(path)
    result: dict[str, set[int]] = {}
    first: FirstLines[tuple[str, int]] = FirstLines(problems, _listed_twice)
    for number, (topic, cluster_text) in _official_rows(path, problems, layout, 2):
        cluster = _cluster_number(cluster_text, number, layout, problems)
        if cluster is None or not first.add((topic, cluster), number):
            continue
        result.setdefault(topic, set()).add(cluster)
    problems.raise_if_any()
    return result


def cluster_counts(
    judgements: Mapping[str, Mapping[str, int]], clusters: Mapping[str, set[int]] | None, clusters_path: str | Path
) -> dict[str, int]:
    """Number of clusters of each judged topic: the CR@X denominator.

    Without a clusters file, the distinct clusters of the topic's relevant images. With one, the clusters it
    lists (the organisers' list of the topic's moments); a judged image in a cluster the file does not list is
    an error, a listed cluster without any judged image is counted and reported as a FormatWarning.
    """
    if clusters is None:
        return {topic: len(set(images.values())) for topic, images in judgements.items()}
    problems = ProblemCollector(clusters_path)
    counts: dict[str, int] = {}
    for topic, images in judgements.items():
        listed = clusters.get(topic, set())
        unlisted = sorted(set(images.values()) - listed)
        if unlisted:
            problems.add(
                None, f"topic {topic!r}: the ground truth uses cluster(s) {unlisted} that this file does not list"
            )
        empty = sorted(listed - set(images.values()))
        if empty:
            problems.warn(None, f"topic {topic!r}: cluster(s) {empty} have no judged image; they count in CR")
        counts[topic] = len(listed | set(images.values()))
    extra = sorted(set(clusters) - set(judgements))
    if extra:
        problems.warn(None, f"topic(s) {extra} have clusters but no judged image: not scored")
    problems.raise_if_any()
    return counts
