"""The lifelog index at scale (`python scripts/bench_retrieval.py --scale 100000,1000000 ...`).

For each size: clustered synthetic embeddings, written through the project's EmbeddingWriter in bounded memory.
They mimic CLIP image embeddings of a lifelog, a mixture of von Mises-Fisher-like clusters on the sphere in three
levels: every row shares one mean direction (CLIP embeddings are anisotropic), rows / 20,000 recurring places (at
least 20) spread around it, events (200 rows on average, log-normal sizes, so many hold fewer than 50) around
their place, and each row around its event. Cosines: row to its event centre ~0.8, two rows of one event ~0.64,
of two events at one place ~0.45, of two places ~0.25. 100 queries are drawn around random events, farther
(cosine ~0.7 to the centre, as a text query to its images). Then each kind is built and searched in a process of
its own, so the peak RSS (ru_maxrss) is that build's: build time and peak RSS, one query top-50 (median of single
queries), 100 queries at once, and recall@10 / @50 against the exact top-50 of the same stored rows. Exact's
"build" is its resident float32 copy (or nothing when the index is streamed).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.retrieval.ann import ApproximateIndex, IndexSettings, open_searcher
from baselines.retrieval.index import EmbeddingIndex
from baselines.retrieval.store import EmbeddingWriter

K = 50
QUERIES = 100
ROWS_PER_EVENT = 200
ROWS_PER_PLACE = 20_000
PLACE_NOISE = 1.0  # |noise| / |centre|: a place has cosine 1 / sqrt(1 + 1) = 0.71 to the mean direction
EVENT_NOISE = 0.6  # an event 0.86 to its place
DATA_NOISE = 0.75  # a row 0.8 to its event
QUERY_NOISE = 1.0  # a query 0.71 to its event
SWEEP = {"ivf": ("nprobe", (8, 16, 32, 64)), "ivfpq": ("nprobe", (16, 32, 64)), "hnsw": ("ef_search", (64, 128))}


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _noisy(centres: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    dim = centres.shape[1]
    return _unit(centres + rng.standard_normal(centres.shape, dtype=np.float32) * np.float32(noise / np.sqrt(dim)))


def _events(rows: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(event centres, each event's share of the rows)."""
    rng = np.random.default_rng(1)
    mean = _unit(rng.standard_normal((1, dim), dtype=np.float32))
    places = _noisy(np.repeat(mean, max(rows // ROWS_PER_PLACE, 20), axis=0), PLACE_NOISE, rng)
    count = max(rows // ROWS_PER_EVENT, 10)
    events = _noisy(places[rng.integers(0, len(places), count)], EVENT_NOISE, rng)
    sizes = rng.lognormal(0.0, 1.0, count)
    return events, sizes / sizes.sum()


def _around(events: tuple[np.ndarray, np.ndarray], count: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    centres, shares = events
    return _noisy(centres[rng.choice(len(centres), size=count, p=shares)], noise, rng)


def write_collection(rows: int, dim: int, folder: Path, chunk: int = 65536) -> dict[str, Any]:
    start = time.perf_counter()
    centres, rng = _events(rows, dim), np.random.default_rng(0)
    writer = EmbeddingWriter(folder, rows)
    for first in range(0, rows, chunk):
        count = min(chunk, rows - first)
        writer.add([f"{first + i:08d}" for i in range(count)], np.arange(first, first + count) * 60.0,
                   _around(centres, count, DATA_NOISE, rng))  # fmt: skip
    writer.finish(f"synthetic {rows} x {dim}")
    queries = _around(centres, QUERIES, QUERY_NOISE, np.random.default_rng(2))
    np.save(folder / "queries.npy", queries)
    return {"seconds": time.perf_counter() - start, "peak_gb": _peak_gb()}


def existing_queries(folder: Path) -> str:
    """100 of the rows of an index a real run saved (e.g. its model.index_dir) as the queries, unless it has some
    (scripts/real_data/clip_features.py holds its queries out of the index): image-to-image queries, where text
    embeddings of the topics are not at hand. Says which."""
    index = EmbeddingIndex.load(folder)
    if index is None:
        raise SystemExit(f"{folder}: no embedding index (meta.json, embeddings.npy, times.npy) there")
    if (folder / "queries.npy").is_file():
        return "the queries of its queries.npy"
    count = min(QUERIES, len(index.ids))
    rows = np.sort(np.random.default_rng(2).choice(len(index.ids), size=count, replace=False))
    np.save(folder / "queries.npy", np.asarray(index.embeddings[rows], np.float32))
    return "its own rows as queries"


def _settings(kind: str, extra: dict[str, Any]) -> IndexSettings:
    return IndexSettings(kind=kind, **extra)


def _recall(found: torch.Tensor, truth: np.ndarray, k: int) -> float:
    pairs = zip(found.tolist(), truth.tolist(), strict=True)
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in pairs]))


def search_kind(folder: Path, kind: str, singles: int) -> list[dict[str, Any]]:
    index = EmbeddingIndex.load(folder)
    assert index is not None
    queries = torch.from_numpy(np.load(folder / "queries.npy"))
    loaded = (folder / f"ann-{kind}.faiss").is_file()  # then "build" is reading and verifying the saved index
    start = time.perf_counter()
    searcher = open_searcher(index, _settings(kind, {}))
    if kind == "exact":
        searcher.search(queries[:1], K)  # the resident copy, where the index fits the memory budget
    build = {"seconds": time.perf_counter() - start, "peak_gb": _peak_gb()}
    if kind == "exact":
        np.save(folder / "truth.npy", searcher.search(queries, K)[1].numpy())
    truth = np.load(folder / "truth.npy")
    results = []
    name, values = SWEEP.get(kind, ("", (None,)))
    for value in values:
        if value is not None:
            assert isinstance(searcher, ApproximateIndex)
            searcher = ApproximateIndex(searcher.index, index, kind, _settings(kind, {name: value}))
        single = []
        for query in queries[:singles]:
            begin = time.perf_counter()
            searcher.search(query[None], K)
            single.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        found = searcher.search(queries, K)[1]
        batch = time.perf_counter() - begin
        results.append(
            {
                "kind": kind,
                "setting": (f"{name} {value}" if value is not None else ("resident" if index._resident is not None
                                                                         else "streamed"))
                + (" (saved index loaded)" if loaded else ""),
                "build_s": build["seconds"],
                "build_peak_gb": build["peak_gb"],
                "single_ms": float(np.median(single)) * 1000,
                "batch_s": batch,
                "recall10": _recall(found, truth, 10),
                "recall50": _recall(found, truth, 50),
            }
        )  # fmt: skip
    return results


def child(argv: list[str]) -> None:
    mode, folder = argv[0], Path(argv[1])
    if mode == "write":
        result: Any = write_collection(int(argv[2]), int(argv[3]), folder)
    else:
        result = search_kind(folder, mode, int(argv[2]))
    print("RESULT " + json.dumps(result))


def _run_child(arguments: list[str]) -> Any:
    command = [sys.executable, str(Path(__file__).with_name("bench_retrieval.py")), "--child", *arguments]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def run_scale(sizes: list[int], kinds: list[str], dim: int, folder: Path, existing: list[Path]) -> None:
    """The table for synthetic collections of each size under folder, then for each existing index folder."""
    print(f"load average at start: {os.getloadavg()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print("\n| rows | kind | setting | build s | build peak RSS GB | 1 query top-50 ms | 100 queries s "
          "| recall@10 | recall@50 |")  # fmt: skip
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for where in [*(folder / f"{rows}" for rows in sizes), *existing]:
        if where in existing:
            queries = existing_queries(where)
            rows = len(json.loads((where / "meta.json").read_text())["ids"])
            print(f"| {rows:,} | {where} ({queries}) | | | | | | | |", flush=True)
        elif (where / "queries.npy").is_file() and EmbeddingIndex.load(where, f"synthetic {where.name} x {dim}"):
            rows = int(where.name)  # written by an earlier run: reused, and so are the faiss indexes saved beside it
            print(f"| {rows:,} | embeddings of an earlier run reused | | | | | | | |", flush=True)
        else:
            rows = int(where.name)
            written = _run_child(["write", str(where), str(rows), str(dim)])
            print(f"| {rows:,} | embeddings written | float16 file, {rows * dim * 2 / 1e9:.2f} GB | "
                  f"{written['seconds']:.1f} | {written['peak_gb']:.2f} | | | | |", flush=True)  # fmt: skip
        for kind in ["exact", *[k for k in kinds if k != "exact"]]:  # exact first: the others' recall is against it
            singles = 5 if kind == "exact" and rows > 2_000_000 else 20
            for row in _run_child([kind, str(where), str(singles)]):
                print(f"| {rows:,} | {row['kind']} | {row['setting']} | {row['build_s']:.1f} | "
                      f"{row['build_peak_gb']:.2f} | {row['single_ms']:.1f} | {row['batch_s']:.2f} | "
                      f"{row['recall10']:.3f} | {row['recall50']:.3f} |", flush=True)  # fmt: skip
    print(f"\nload average at the end: {os.getloadavg()}")
