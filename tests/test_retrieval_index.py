"""The lifelog index at scale: bounded-memory writing, every faiss kind, the saved index's record, sharded builds."""

from __future__ import annotations

import json
import logging
from functools import partial
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from baselines.data.lifelog import collate_readable
from baselines.models.base import Optim
from baselines.models.retrieval import RetrievalModule
from baselines.retrieval import ann, store
from baselines.retrieval.ann import ApproximateIndex, IndexSettings, open_searcher
from baselines.retrieval.index import EmbeddingIndex
from baselines.retrieval.store import EmbeddingWriter, memory_budget

DIM = 32


def _clustered(rows: int, seed: int = 0, clusters: int = 20) -> np.ndarray:
    """Unit rows around random unit centres (a mixture on the sphere, as CLIP embeddings of a lifelog are)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    points = centres[rng.integers(0, clusters, rows)] + 0.35 * rng.normal(size=(rows, DIM)) / np.sqrt(DIM)
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def _saved(folder: Path, rows: int = 4000, key: str = "key-1") -> EmbeddingIndex:
    embeddings = _clustered(rows)
    EmbeddingIndex([f"i{k}" for k in range(rows)], embeddings, np.arange(rows) * 60.0, key).save(folder)
    loaded = EmbeddingIndex.load(folder, key)
    assert loaded is not None
    return loaded


def _queries(count: int = 12) -> torch.Tensor:
    points = torch.from_numpy(_clustered(count, seed=7))
    return torch.nn.functional.normalize(points + 0.05 * torch.randn(count, DIM, generator=torch.Generator()), dim=1)


# ---- writing in bounded memory ----------------------------------------------------------------------------------


def test_batches_are_written_into_a_preallocated_float16_file(tmp_path: Path) -> None:
    embeddings = _clustered(10)
    writer = EmbeddingWriter(tmp_path, capacity=10)
    writer.add(["a", "b", "c"], [1.0, 2.0, 3.0], embeddings[:3])
    partial_file = tmp_path / "embeddings.partial.npy"
    # the whole (10, D) float16 array is on disk after the first batch: nothing accumulates in memory
    assert np.load(partial_file, mmap_mode="r").shape == (10, DIM)
    writer.add([f"r{k}" for k in range(7)], np.arange(7.0), embeddings[3:])
    with pytest.raises(ValueError, match="more than the 10 rows"):
        writer.add(["extra"], [0.0], embeddings[:1])
    ids, saved, times = writer.finish("key-1")
    assert isinstance(saved, np.memmap) and saved.dtype == np.float16 and not partial_file.exists()
    assert np.array_equal(saved, embeddings.astype(np.float16)) and ids[:3] == ["a", "b", "c"]
    loaded = EmbeddingIndex.load(tmp_path, "key-1")
    assert loaded is not None and loaded.ids == ids and np.array_equal(loaded.times, times)


def test_fewer_rows_than_the_capacity_are_compacted(tmp_path: Path) -> None:
    embeddings = _clustered(5)
    writer = EmbeddingWriter(tmp_path, capacity=8)  # three images turned out unreadable
    writer.add(["a", "b", "c", "d", "e"], np.zeros(5), embeddings)
    writer.finish("key-1")
    loaded = EmbeddingIndex.load(tmp_path, "key-1")  # _check: the file is exactly as long as its header says
    assert loaded is not None and loaded.embeddings.shape == (5, DIM)
    assert np.array_equal(loaded.embeddings, embeddings.astype(np.float16))


def test_without_a_folder_the_computed_float32_values_are_kept() -> None:
    embeddings = _clustered(4)
    writer = EmbeddingWriter(None, capacity=4)
    writer.add(list("abcd"), np.zeros(4), embeddings)
    _, kept, _ = writer.finish("key-1")
    assert kept.dtype == np.float32 and np.array_equal(kept, embeddings)


def test_the_resident_limit_follows_the_available_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "available_memory", lambda: 10_000_000)
    assert memory_budget(0.25) == 2_500_000
    index = EmbeddingIndex([f"i{k}" for k in range(1000)], _clustered(1000), np.zeros(1000), resident_fraction=0.5)
    queries = _queries()
    expected = index.search(queries, 5, resident_bytes=0)  # streamed
    # 1000 x 32 float32 = 128 kB: resident under 5 MB, streamed under 100 kB
    assert torch.equal(index.search(queries, 5, chunk=100)[1], expected[1]) and index._resident is not None
    small = EmbeddingIndex(index.ids, index.embeddings, index.times, resident_fraction=0.01)
    assert torch.equal(small.search(queries, 5, chunk=100)[1], expected[1]) and small._resident is None
    monkeypatch.setattr(store, "available_memory", lambda: None)  # not Linux: the old fixed 2 GiB
    assert memory_budget(0.5) == 2 << 30


# ---- every kind on small data --------------------------------------------------------------------------------


KIND_SETTINGS = {
    "exact": IndexSettings(kind="exact"),
    "ivf": IndexSettings(kind="ivf", nprobe=8),
    "ivfpq": IndexSettings(kind="ivfpq", nprobe=8, pq_m=8),
    "hnsw": IndexSettings(kind="hnsw", hnsw_m=16),
}


@pytest.mark.parametrize("kind", list(KIND_SETTINGS))
def test_every_kind_finds_the_exact_neighbours_with_exact_scores(tmp_path: Path, kind: str) -> None:
    index = _saved(tmp_path / "idx")
    queries = _queries()
    exact_rows = index.search(queries, 50)[1]
    searcher = open_searcher(index, KIND_SETTINGS[kind])
    scores, rows = searcher.search(queries, 50)
    assert scores.shape == rows.shape == (12, 50)
    recall = np.mean([len(set(rows[i, :10].tolist()) & set(exact_rows[i, :10].tolist())) / 10 for i in range(12)])
    assert recall >= 0.9
    # each returned score is the row's exact cosine with the query (re-scored where the codes are lossy), in order
    truth = queries @ torch.from_numpy(np.asarray(index.embeddings, np.float32)).T
    torch.testing.assert_close(scores, truth.gather(1, rows), rtol=0, atol=1e-5)
    assert torch.all(scores[:, :-1] >= scores[:, 1:])
    saved = sorted(p.name for p in (tmp_path / "idx").glob("ann-*"))
    assert saved == ([] if kind == "exact" else [f"ann-{kind}.faiss", f"ann-{kind}.json"])


@pytest.mark.parametrize("kind", ["ivf", "ivfpq", "hnsw"])
def test_a_saved_index_is_reused_without_rebuilding(tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    index = _saved(tmp_path / "idx", rows=2000)
    first = open_searcher(index, KIND_SETTINGS[kind]).search(_queries(), 20)
    monkeypatch.setattr(ann, "build_faiss", lambda *a, **k: pytest.fail("rebuilt a verified index"))
    again = open_searcher(EmbeddingIndex.load(tmp_path / "idx", "key-1"), KIND_SETTINGS[kind])  # type: ignore[arg-type]
    assert isinstance(again, ApproximateIndex)
    assert all(torch.equal(a, b) for a, b in zip(first, again.search(_queries(), 20), strict=True))


def test_auto_is_exact_up_to_its_size_and_ivf_above(tmp_path: Path) -> None:
    index = _saved(tmp_path / "idx", rows=2000)
    assert open_searcher(index, IndexSettings(kind="auto", exact_max_rows=2000)) is index
    above = open_searcher(index, IndexSettings(kind="auto", exact_max_rows=1999))
    assert isinstance(above, ApproximateIndex) and above.kind == "ivf"
    with pytest.raises(ValueError, match=r"model.index.kind='flat': expected one of exact, ivf, ivfpq, hnsw, auto"):
        IndexSettings(kind="flat")


def test_a_query_the_lists_cannot_fill_is_answered_exactly(tmp_path: Path) -> None:
    index = _saved(tmp_path / "idx", rows=2000)
    searcher = open_searcher(index, IndexSettings(kind="ivf", nlist=32, nprobe=1))  # ~60 rows per list
    scores, rows = searcher.search(_queries(), 500)
    exact_scores, exact_rows = index.search(_queries(), 500)
    assert torch.equal(rows, exact_rows) and torch.equal(scores, exact_scores)


# ---- the saved index's record ---------------------------------------------------------------------------------


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _swap_in_another_index(path: Path) -> None:
    other = faiss.IndexFlatIP(DIM)
    faiss.write_index(other, str(path))


def _rewrite_record_rows(path: Path) -> None:
    record_path = path.with_suffix(".json")
    record = json.loads(record_path.read_text())
    record["embeddings"]["rows"] = 1
    record_path.write_text(json.dumps(record))


TAMPERING = {
    "a flipped byte": (_flip_a_byte, "SHA-256 differs"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:-100]), "its record says"),
    "another index file": (_swap_in_another_index, "its record says"),
    "a record of other embeddings": (_rewrite_record_rows, "embeddings differs"),
    "an unreadable record": (lambda p: p.with_suffix(".json").write_text("{no"), "is unreadable"),
    "no record": (lambda p: p.with_suffix(".json").unlink(), "is unreadable"),
}


@pytest.mark.parametrize("tamper", list(TAMPERING))
def test_a_tampered_index_file_is_refused_unread_and_rebuilt(
    tmp_path: Path, tamper: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    index = _saved(tmp_path / "idx", rows=2000)
    settings = IndexSettings(kind="ivf", nprobe=4)
    expected = open_searcher(index, settings).search(_queries(), 20)
    path = tmp_path / "idx" / "ann-ivf.faiss"
    damage, why = TAMPERING[tamper]
    damage(path)
    read: list[str] = []
    real_read = faiss.read_index
    monkeypatch.setattr(faiss, "read_index", lambda name, *a: read.append(name) or real_read(name, *a))
    with caplog.at_level(logging.WARNING):
        rebuilt = open_searcher(index, settings)
    assert read == []  # faiss never parsed the file
    assert why in caplog.text and "deleted, to be rebuilt" in caplog.text
    assert all(torch.equal(a, b) for a, b in zip(expected, rebuilt.search(_queries(), 20), strict=True))
    assert json.loads(path.with_suffix(".json").read_text())["index"]["size"] == path.stat().st_size


def test_an_index_of_other_embeddings_or_settings_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = _saved(tmp_path / "idx", rows=2000)
    open_searcher(index, IndexSettings(kind="ivf"))
    with caplog.at_level(logging.WARNING):
        open_searcher(index, IndexSettings(kind="ivf", nlist=16))
    assert "parameters differs" in caplog.text
    caplog.clear()
    recomputed = _saved(tmp_path / "idx", rows=2000, key="other-weights")  # the embeddings were recomputed
    with caplog.at_level(logging.WARNING):
        open_searcher(recomputed, IndexSettings(kind="ivf", nlist=16))
    assert "embeddings differs" in caplog.text


# ---- sharded builds ------------------------------------------------------------------------------------------


class _Images(Dataset):
    """Random images in the lifelog loader's batch format; `bad` rows are unreadable (skipped)."""

    def __init__(self, count: int, bad: tuple[int, ...] = ()) -> None:
        self.images = torch.rand(count, 3, 64, 64, generator=torch.Generator().manual_seed(3))
        self.bad = bad

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        reason = f"image {index} unreadable" if index in self.bad else ""
        return {"id": f"img{index}", "index": index, "image": self.images[index], "unreadable": reason}


def _model(folder: Path) -> RetrievalModule:
    model = RetrievalModule("baselines-tiny-clip", None, Optim(partial(torch.optim.AdamW)), index_dir=str(folder))
    return model.eval()


def test_a_sharded_build_equals_a_single_build(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _model(tmp_path / "single")
    dataset = _Images(23, bad=(4, 17))
    loader = DataLoader(dataset, batch_size=4, collate_fn=collate_readable)
    ids, times = [f"img{k}" for k in range(23)], [1.5e9 + 60.0 * k for k in range(23)]
    single = model.build_index(loader, ids, times)
    sharded = _model(tmp_path / "sharded")
    sharded.load_state_dict(model.state_dict())
    parts = [sharded.build_index(loader, ids, times, shard=(s, 3)) for s in range(3)]  # e.g. three GPUs
    assert [len(p.ids) for p in parts] == [6, 8, 7]  # rows 0-6 less image 4, 7-14, 15-22 less image 17
    merged = sharded.merge_index_shards(ids, None, 3)
    assert not (tmp_path / "sharded" / "shards").exists()
    for name in ("embeddings.npy", "times.npy", "meta.json"):
        assert (tmp_path / "sharded" / name).read_bytes() == (tmp_path / "single" / name).read_bytes()
    assert merged.ids == single.ids and "img4" not in merged.ids
    settings = IndexSettings(kind="ivf", nlist=2, nprobe=1)
    queries = torch.nn.functional.normalize(torch.randn(5, merged.dim, generator=torch.Generator()), dim=1)
    found = [open_searcher(index, settings).search(queries, 10) for index in (single, merged)]
    assert torch.equal(found[0][1], found[1][1]) and torch.equal(found[0][0], found[1][0])


def test_a_missing_or_foreign_shard_stops_the_merge(tmp_path: Path) -> None:
    model = _model(tmp_path / "idx")
    loader = DataLoader(_Images(6), batch_size=4, collate_fn=collate_readable)
    ids, times = [f"img{k}" for k in range(6)], [0.0] * 6
    model.build_index(loader, ids, times, shard=(0, 2))
    with pytest.raises(ValueError, match=r"shard 1 of 2 is missing or stale"):
        model.merge_index_shards(ids, None, 2)
    model.build_index(loader, ids, times, shard=(1, 3))  # written for another split
    with pytest.raises(ValueError, match=r"shard 1 of 2 is missing or stale"):
        model.merge_index_shards(ids, None, 2)
    with pytest.raises(ValueError, match="a shard is numbered 0 to 1"):
        model.build_index(loader, ids, times, shard=(2, 2))


# ---- through the configs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_the_lmrt_run_searches_with_the_configured_kind(demo_cfg: Any, tmp_path: Path, kind: str) -> None:
    from hydra.utils import instantiate

    from baselines.pipeline import run

    settings = [f"model.index.kind={kind}", f"model.index_dir={tmp_path}/i"]
    cfg = demo_cfg("lmrt", "synthetic.n_events=8", "debug=fast_dev_run", *settings)
    instantiate(cfg.synthetic)
    summary = run(cfg)
    rows = [row.split(",") for row in Path(summary["run_file"]).read_text().splitlines()]
    assert {row[0] for row in rows} == {"1", "2", "3", "4", "5", "6"} and all(len(row) == 3 for row in rows)
    record = json.loads((tmp_path / "i" / f"ann-{kind}.json").read_text())  # built over the cached embeddings
    assert record["embeddings"]["rows"] == len(json.loads((tmp_path / "i" / "meta.json").read_text())["ids"])
