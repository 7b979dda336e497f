"""Lifelog LMRT: index, search, diversity re-ranking, validator, evaluator, pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image

from baselines.data.images import load_rgb
from baselines.data.transforms import detection_pipeline
from baselines.errors import FormatError
from baselines.evaluation.lifelog import lmrt_scores, spll_scores, topic_scores
from baselines.pipeline import run
from baselines.retrieval.index import EmbeddingIndex, temporal_mmr
from baselines.tasks import get_task

Compose = Callable[..., DictConfig]


def _random_index(n: int = 1000, dim: int = 32) -> EmbeddingIndex:
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(n, dim)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return EmbeddingIndex([f"i{k}" for k in range(n)], embeddings, np.arange(n, dtype=np.float64) * 60, "key-1")


def test_index_save_load_round_trip_and_stale_key(tmp_path: Path) -> None:
    index = _random_index()
    index.save(tmp_path / "idx")
    loaded = EmbeddingIndex.load(tmp_path / "idx", "key-1")
    assert loaded is not None and isinstance(loaded.embeddings, np.memmap)
    assert loaded.ids == index.ids and np.array_equal(loaded.times, index.times)
    np.testing.assert_allclose(loaded.embeddings, index.embeddings, atol=1e-3)  # stored as float16
    assert EmbeddingIndex.load(tmp_path / "idx", "other-weights") is None
    assert EmbeddingIndex.load(tmp_path / "nothing", "key-1") is None


@pytest.mark.parametrize("resident_bytes", [0, 2 << 30], ids=["streamed chunks", "resident"])
def test_search_equals_brute_force(resident_bytes: int) -> None:
    index = _random_index()
    queries = torch.from_numpy(index.embeddings[:5] + 0.1).float()
    queries = torch.nn.functional.normalize(queries, dim=1)
    scores, rows = index.search(queries, k=7, chunk=128, resident_bytes=resident_bytes)
    expected = (queries @ torch.from_numpy(index.embeddings).T).topk(7, dim=1)
    assert torch.equal(rows, expected.indices)
    torch.testing.assert_close(scores, expected.values)


def test_temporal_mmr_covers_more_clusters_than_plain_ranking() -> None:
    # 10 near-identical hits of one event (times 0..9 min) score above 3 hits of 3 later events
    relevance = [0.9 - 0.001 * i for i in range(10)] + [0.8, 0.79, 0.78]
    times = [60.0 * i for i in range(10)] + [36000.0, 72000.0, 108000.0]
    clusters = {str(i): "morning" for i in range(10)} | {"10": "a", "11": "b", "12": "c"}
    plain = [str(i) for i in np.argsort(relevance)[::-1][:4]]
    diverse = [str(i) for i in temporal_mmr(relevance, times, k=4, weight=0.7, time_scale=1800)]
    assert topic_scores(plain, clusters, cutoff=4)["cr"] == 0.25
    assert topic_scores(diverse, clusters, cutoff=4)["cr"] == 1.0
    assert temporal_mmr(relevance, times, k=4, weight=1.0) == [0, 1, 2, 3]  # weight 1: relevance only


def test_scores_by_hand_ranked_by_confidence_not_file_order() -> None:
    judgements = {"t1": {"a": "c1", "b": "c1", "c": "c2"}, "t2": {"x": "c1"}}
    # file order puts the misses first; by confidence a, c, b lead
    run_rows = {"t1": [("z1", 0.1), ("z2", 0.2), ("a", 0.9), ("c", 0.8), ("b", 0.7)]}
    # t1: P@10 = 3/10, CR@10 = 2 / min(2, 10) = 1, F1 = 2 * 0.3 * 1 / 1.3; t2 missing -> 0
    f1 = 2 * 0.3 / 1.3
    assert lmrt_scores(run_rows, judgements) == pytest.approx({"p@10": 0.15, "cr@10": 0.5, "f1@10": f1 / 2})
    assert topic_scores(["a", "b"], {"a": "c1", "b": "c2", "c": "c3"}, cutoff=2) == pytest.approx(
        {"p": 1.0, "cr": 1.0, "f1": 1.0}
    )


def test_spll_scores_by_hand() -> None:
    assert spll_scores({"p1": 0.5, "p2": -0.1}, {"p1": 1.0, "p2": 0.2, "p3": -0.3}) == pytest.approx(
        {"sign_accuracy": 1 / 3, "mae": (0.5 + 0.3 + 0.3) / 3}
    )


def test_at_most_50_images_per_topic(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text("".join(f"t1,img{i},0.5\n" for i in range(51)))
    with pytest.raises(FormatError, match=r"run.csv:51: topic 't1' has more than 50 images"):
        get_task("lmrt").parse_run(path, None)


def test_fast_dev_run(demo_cfg: Compose) -> None:
    cfg = demo_cfg("lmrt", "synthetic.n_events=8", "debug=fast_dev_run")
    instantiate(cfg.synthetic)
    rows = Path(run(cfg)["run_file"]).read_text().splitlines()
    topics = {row.split(",")[0] for row in rows}
    assert len(topics) == 6 and all(len(row.split(",")) == 3 for row in rows)


def test_pipeline_retrieves_planted_scenes_and_caches_the_index(demo_cfg: Compose, tmp_path: Path) -> None:
    cfg = demo_cfg("lmrt", "synthetic.n_events=18", "trainer.max_epochs=20", f"model.index_dir={tmp_path}/index")
    instantiate(cfg.synthetic)
    summary = run(cfg)
    assert summary["scores"]["f1@10"] > 0.4  # random ranking of 6 balanced scenes gives about 0.2
    assert (tmp_path / "index" / "meta.json").is_file()
    again = run(
        demo_cfg(
            "lmrt",
            "synthetic.n_events=18",
            "train=false",
            f"ckpt_path={summary['checkpoint']}",
            f"model.index_dir={tmp_path}/index",
            output="again",
        )
    )
    assert Path(again["run_file"]).read_text() == Path(summary["run_file"]).read_text()


def test_spll_pipeline_learns_the_direction_of_change(demo_cfg: Compose) -> None:
    cfg = demo_cfg("spll", "trainer.max_epochs=40")
    instantiate(cfg.synthetic)
    scores = run(cfg)["scores"]
    assert scores["sign_accuracy"] >= 0.75  # the untrained MLP is near chance (0.44 on this set)
    assert scores["mae"] < 0.1


def test_topics_from_xml_and_csv(tmp_path: Path) -> None:
    from baselines.data.formats.lifelog import read_topics

    xml = tmp_path / "topics.xml"
    xml.write_text(
        "<topics><topic><id>1</id><title>Coffee</title><description>Find me drinking coffee.</description></topic>"
        "<topic><id>2</id><title>Gym</title><description></description></topic></topics>"
    )
    assert read_topics(xml) == {"1": "Coffee. Find me drinking coffee.", "2": "Gym"}
    csv_file = tmp_path / "topics.csv"
    csv_file.write_text("topic_id,title,description\n1,Coffee,Find me drinking coffee.\n")
    assert read_topics(csv_file) == {"1": "Coffee. Find me drinking coffee."}
    (tmp_path / "bad.xml").write_text("<topics><topic>")
    with pytest.raises(FormatError, match="invalid XML"):
        read_topics(tmp_path / "bad.xml")


def test_reduced_jpeg_decode_keeps_the_longest_side_and_the_content(tmp_path: Path) -> None:
    y, x = np.mgrid[0:768, 0:1024]
    pixels = np.stack([(x // 4) % 256, (y // 3) % 256, ((x + y) // 8) % 256], -1).astype(np.uint8)
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), pixels, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert load_rgb(path, longest_at_least=224).shape == (192, 256, 3)  # 1/4: the longest side stays >= 224
    assert load_rgb(path, longest_at_least=300).shape == (384, 512, 3)  # 1/2
    assert load_rgb(path, longest_at_least=1000).shape == (768, 1024, 3)  # full size
    letterbox = detection_pipeline(224, with_boxes=False)
    full = letterbox(image=load_rgb(path))["image"].astype(float)
    reduced = letterbox(image=load_rgb(path, longest_at_least=224))["image"].astype(float)
    assert np.abs(full - reduced).mean() < 2.0


def test_reduced_decode_applies_the_exif_orientation_like_the_full_one(tmp_path: Path) -> None:
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 1000, 3), dtype=np.uint8))
    exif = photo.getexif()
    exif[0x0112] = 6  # rotated 90 degrees: width and height swap
    photo.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_rgb(tmp_path / "rotated.jpg").shape == (1000, 600, 3)
    assert load_rgb(tmp_path / "rotated.jpg", longest_at_least=200).shape == (250, 150, 3)
