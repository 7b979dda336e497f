"""ImageCLEF 2020 lifelog moment retrieval (LMRT) conformance cases.

Files per case: gt.csv (`topic, image.jpg, cluster`, `, ` separators, no header: the 2020 development
ground-truth layout), clusters.csv (`topic, cluster`), allowed_image_ids.txt (one image id a line: the
2018 evaluator's list of collection images), run.csv (`topic_id,image_id,confidence`).
"""


def img(day, n):
    return f"2018050{day}_{8 + n // 60:02d}{n % 60:02d}00_000.jpg"


REL = [img(3, n) for n in range(1, 13)]  # relevant images, ids increase with n
POOL = [img(4, n) for n in range(1, 61)]  # irrelevant images
ALLOWED = "".join(f"{i}\n" for i in REL + POOL)


def gt_text(rows):
    return "".join(f"{t}, {i}, {c}\n" for t, i, c in rows)


def clusters_text(rows):
    seen = sorted({(t, c) for t, _, c in rows})
    return "".join(f"{t}, {c}\n" for t, c in seen)


def run_text(rows):
    return "".join(f"{t},{i},{c:g}\n" if isinstance(c, float) else f"{t},{i},{c}\n" for t, i, c in rows)


def ranked(topic, images, start=1.0, step=0.01):
    return [(topic, im, round(start - k * step, 4)) for k, im in enumerate(images)]


CASES = []


def case(name, note, gt_rows, run_rows=None, raw_run=None):
    files = {
        "gt.csv": gt_text(gt_rows),
        "clusters.csv": clusters_text(gt_rows),
        "allowed_image_ids.txt": ALLOWED,
        "run.csv": raw_run if raw_run is not None else run_text(run_rows),
    }
    CASES.append((name, files, note))


# topic 1: 12 clusters, one image each
GT12 = [(1, REL[k], k + 1) for k in range(12)]
case(
    "twelve_clusters_ten_found",
    "issue probe: 12 clusters, the top 10 hold one image of each of 10 clusters (P@10 = 1); the 2018 code divides"
    " by all 12 clusters (CR 10/12)",
    GT12,
    ranked(1, REL[:10] + POOL[:5] + REL[10:12]),
)
# topic 1: 3 clusters, 2 images each
GT3 = [(1, REL[k], k // 2 + 1) for k in range(6)]
case(
    "three_clusters_all_found",
    "3 clusters of 2 images, all 6 relevant images ranked first, then 4 irrelevant: P@10 0.6, CR@10 1",
    GT3,
    ranked(1, REL[:6] + POOL[:4]),
)
case(
    "file_order_vs_confidence",
    "the 10 irrelevant images come first in the file with confidence 0.1, the 6 relevant ones after them"
    " with 0.9: ranking by confidence puts the relevant ones first",
    GT3,
    [(1, im, 0.1) for im in POOL[:10]] + [(1, im, 0.9) for im in REL[:6]],
)
case("short_run", "topic 1 has only 5 lines (fewer than the cutoff 10)", GT3, ranked(1, REL[:3] + POOL[:2]))
GT_TWO = GT3 + [(2, REL[6 + k], k + 1) for k in range(6)]
case(
    "two_topics_first_good",
    "two judged topics: topic 1 ranked well, topic 2 with nothing relevant",
    GT_TWO,
    ranked(1, REL[:6] + POOL[:4]) + ranked(2, POOL[10:20]),
)
case(
    "two_topics_second_good",
    "two judged topics: topic 1 with nothing relevant, topic 2 ranked well",
    GT_TWO,
    ranked(1, POOL[:10]) + ranked(2, REL[6:12] + POOL[10:14]),
)
case("missing_topic", "topic 2 is judged but has no line", GT_TWO, ranked(1, REL[:6] + POOL[:4]))
# the image with the largest id is in cluster 2 of 3
GT_BUG = [(1, REL[0], 1), (1, REL[1], 3), (1, REL[2], 2)]
case(
    "cluster_count_from_last_image_inflated",
    "3 clusters, but the lexicographically largest relevant image id is in cluster 2; the run finds clusters"
    " 1 and 2 only",
    GT_BUG,
    ranked(1, [REL[0], REL[2], *POOL[:8]]),
)
case(
    "cluster_count_from_last_image_crash",
    "same ground truth; the run finds cluster 3 (the image of cluster 3 is not the largest id)",
    GT_BUG,
    ranked(1, [REL[0], REL[1], *POOL[:8]]),
)
case("confidence_above_1", "a confidence of 1.5", GT3, [(1, REL[0], 1.5), *ranked(1, REL[1:6] + POOL[:4], 0.9)])
case("duplicate_image_in_topic", "the same image twice for topic 1", GT3, ranked(1, [*REL[:6], REL[0], *POOL[:3]]))
case(
    "unknown_image",
    "an image id that is not in the collection",
    GT3,
    ranked(1, [*REL[:6], "20990101_000000_000.jpg", *POOL[:3]]),
)
case(
    "unknown_topic",
    "a line for topic 9, which is not judged",
    GT3,
    [*ranked(1, REL[:6] + POOL[:4]), (9, POOL[20], 0.5)],
)
case(
    "blank_line",
    "a blank line between two lines",
    GT3,
    raw_run=run_text(ranked(1, REL[:6] + POOL[:4])).replace("\n", "\n\n", 1),
)
case(
    "spaces_after_commas",
    "'1, image.jpg, 0.9': a space after each comma",
    GT3,
    raw_run=run_text(ranked(1, REL[:6] + POOL[:4])).replace(",", ", "),
)
case(
    "utf8_bom",
    "the run starts with a UTF-8 byte-order mark",
    GT3,
    raw_run="\ufeff" + run_text(ranked(1, REL[:6] + POOL[:4])),
)
case(
    "header_row",
    "the run starts with a header row",
    GT3,
    raw_run="topic_id,image_id,confidence\n" + run_text(ranked(1, REL[:6] + POOL[:4])),
)
case("nothing_relevant", "no relevant image in the top 10", GT3, ranked(1, POOL[:10] + REL[:6]))
case(
    "more_than_50_per_topic",
    "55 images for topic 1 (the project caps a topic at 50)",
    GT3,
    ranked(1, REL[:6] + POOL[:49], 1.0, 0.005),
)
case(
    "equal_confidences",
    "every line has confidence 1: file order decides",
    GT3,
    [(1, im, 1.0) for im in POOL[:2] + REL[:6] + POOL[2:4]],
)
case(
    "interleaved_precision",
    "relevant images at ranks 1, 3, 5, 7 from 2 clusters: P@10 0.4, CR@10 2/3",
    GT3,
    ranked(1, [REL[0], POOL[0], REL[1], POOL[1], REL[2], POOL[2], REL[3], POOL[3], POOL[4], POOL[5]]),
)

# -- issue 27: a ground truth without topic 1 (the 2018 script scores topic 1 only)
GT_NO_1 = [(2, REL[k], k + 1) for k in range(3)] + [(3, REL[3 + k], 1) for k in range(2)]
case(
    "no_topic_1",
    "the ground truth judges topics 2 and 3 only; the run finds every cluster of both",
    GT_NO_1,
    ranked(2, REL[:3] + POOL[:7]) + ranked(3, REL[3:5] + POOL[7:15]),
)
