"""Approximate nearest-neighbour search over an EmbeddingIndex, on faiss (inner product of L2-normalised rows).

Kinds (`IndexSettings.kind`):

- `exact`: the EmbeddingIndex itself (matrix product + top-k; faster than faiss's flat index here).
- `ivf`: an inverted file (k-means lists, `nprobe` of `nlist` searched) storing the rows in float16, as the
  embeddings file does: the scores of the rows found are exact.
- `ivfpq`: the same lists with product-quantised rows (`pq_m` bytes each: 8x smaller than float16 at D=512);
  `refine` x k candidates are re-scored exactly from the embeddings file.
- `hnsw`: a navigable small-world graph (`hnsw_m` links per row) over float16 rows; slow to build on a CPU.
- `auto`: exact up to `exact_max_rows` rows, ivf above.

An index built from a saved EmbeddingIndex is saved beside it (`ann-<kind>.faiss`) with a record
(`ann-<kind>.json`) of what it was built from: the embeddings' key, rows, columns, file size and mtime, the build
parameters, and the faiss file's size and SHA-256. Before faiss parses a file (a binary format, read by C++), the
record must match the embeddings and settings in use and the file its size and digest; otherwise both are deleted
and the index is rebuilt. The record guards against stale, truncated, swapped and corrupted files, not against
someone who rewrites the file and its record together: keep the index folder as private as the checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from baselines.io.atomic import atomic_write_text
from baselines.retrieval.index import EmbeddingIndex
from baselines.retrieval.store import file_stamp

if TYPE_CHECKING:
    import faiss

log = logging.getLogger(__name__)

KINDS = ("exact", "ivf", "ivfpq", "hnsw", "auto")
RECORD_FORMAT = 1


class Searcher(Protocol):
    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]: ...


@dataclass(frozen=True)
class IndexSettings:
    """How the collection is searched (configs/model/clip_retriever.yaml `index`).

    Args:
        kind: exact, ivf, ivfpq, hnsw or auto (see the module).
        exact_max_rows: Largest collection `auto` searches exactly.
        nlist: Inverted lists of ivf / ivfpq; None: the power of two nearest sqrt(rows), at most rows / 40.
        nprobe: Lists searched per query (ivf, ivfpq).
        pq_m: Bytes per row of ivfpq (a divisor of the embedding size).
        hnsw_m: Graph links per row (hnsw).
        ef_construction: Candidate list while the graph is built (hnsw).
        ef_search: Candidate list while searching (hnsw; at least k is used).
        refine: ivfpq re-scores refine x k candidates exactly.
        train_rows: Rows sampled to train the lists and codes; None: 40 per list, at least 10,240 for ivfpq.
        resident_fraction: Share of the available memory an exact index kept resident may take.
        use_gpu: Search ivf / ivfpq on the GPUs where faiss was built with GPU support (faiss-gpu).
        seed: Of the training sample and k-means.
    """

    kind: str = "auto"
    exact_max_rows: int = 250_000
    nlist: int | None = None
    nprobe: int = 32
    pq_m: int = 64
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 128
    refine: int = 4
    train_rows: int | None = None
    resident_fraction: float = 0.5
    use_gpu: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"model.index.kind={self.kind!r}: expected one of {', '.join(KINDS)}")
        if min(self.nprobe, self.pq_m, self.hnsw_m, self.ef_construction, self.ef_search, self.refine) < 1:
            raise ValueError("model.index: nprobe, pq_m, hnsw_m, ef_construction, ef_search and refine are >= 1")

    def resolve(self, rows: int) -> str:
        """The kind used for a collection of rows."""
        if self.kind == "auto":
            return "exact" if rows <= self.exact_max_rows else "ivf"
        return self.kind

    def lists(self, rows: int) -> int:
        if self.nlist is not None:
            return self.nlist
        nearest = 2 ** round(math.log2(max(math.sqrt(rows), 1)))
        return int(max(1, min(nearest, rows // 40)))

    def build_parameters(self, kind: str, rows: int) -> dict[str, Any]:
        """What the built index depends on besides the embeddings (search-time settings excluded)."""
        if kind == "hnsw":
            return {"hnsw_m": self.hnsw_m, "ef_construction": self.ef_construction, "storage": "fp16"}
        nlist = self.lists(rows)
        floor = 10_240 if kind == "ivfpq" else 0
        train = self.train_rows if self.train_rows is not None else max(40 * nlist, floor)
        parameters: dict[str, Any] = {"nlist": nlist, "train_rows": min(train, rows), "seed": self.seed}
        parameters |= {"pq_m": self.pq_m, "pq_bits": 8} if kind == "ivfpq" else {"storage": "fp16"}
        return parameters


class ApproximateIndex:
    """A faiss index over the rows of an EmbeddingIndex; `search` has EmbeddingIndex.search's contract."""

    def __init__(self, index: faiss.Index, embeddings: EmbeddingIndex, kind: str, settings: IndexSettings) -> None:
        import faiss  # imported where an approximate index is used: the exact path runs without faiss

        if kind in ("ivf", "ivfpq"):
            faiss.extract_index_ivf(index).nprobe = settings.nprobe  # before the GPU copy, which takes it over
        self.index = _to_gpus(index, kind, settings)
        self.embeddings = embeddings
        self.kind = kind
        self.settings = settings

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Approximate cosine top-k of L2-normalised (Q, D) queries: (scores, row indices), each (Q, k).

        A query for which the index finds fewer than k rows (too few lists probed) is answered exactly.
        """
        import faiss  # imported where an approximate index is used: the exact path runs without faiss

        k = min(k, len(self.embeddings.ids))
        wanted = min(k * self.settings.refine, len(self.embeddings.ids)) if self.kind == "ivfpq" else k
        if self.kind == "hnsw":
            faiss.ParameterSpace().set_index_parameter(self.index, "efSearch", max(self.settings.ef_search, wanted))
        matrix = np.ascontiguousarray(queries.detach().float().cpu().numpy())
        found_scores, found_rows = self.index.search(matrix, wanted)
        if self.kind == "ivfpq":  # product-quantised scores are estimates: re-score the candidates exactly
            found_scores, found_rows = self._rescore(matrix, found_rows, k)
        scores = torch.from_numpy(np.ascontiguousarray(found_scores[:, :k], np.float32))
        rows = torch.from_numpy(np.ascontiguousarray(found_rows[:, :k], np.int64))
        short = (rows < 0).any(dim=1).nonzero().flatten().tolist()
        if short:
            exact_scores, exact_rows = self.embeddings.search(queries[short].float().cpu(), k)
            scores[short], rows[short] = exact_scores, exact_rows
        return scores.to(queries.device), rows.to(queries.device)

    def _rescore(self, queries: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = np.full((len(queries), k), -np.inf, np.float32)
        rows = np.full((len(queries), k), -1, np.int64)
        for i, found in enumerate(candidates):
            found = found[found >= 0]
            exact = np.asarray(self.embeddings.embeddings[np.sort(found)], np.float32) @ queries[i]
            order = np.argsort(-exact, kind="stable")[:k]
            scores[i, : len(order)], rows[i, : len(order)] = exact[order], np.sort(found)[order]
        return scores, rows


def open_searcher(embeddings: EmbeddingIndex, settings: IndexSettings, chunk: int = 65536) -> Searcher:
    """The searcher of settings over embeddings: the EmbeddingIndex itself for exact, else the faiss index saved
    beside the embeddings file (verified against its record) or one built now (and saved there)."""
    embeddings.resident_fraction = settings.resident_fraction
    kind = settings.resolve(len(embeddings.ids))
    if kind == "exact":
        return embeddings
    folder = embeddings.source.parent if embeddings.source is not None else None
    record = _record(embeddings, kind, settings)
    index = load_faiss(folder, kind, record) if folder is not None else None
    if index is None:
        index = build_faiss(embeddings, kind, settings, chunk)
        if folder is not None:
            save_faiss(index, folder, kind, record)
    return ApproximateIndex(index, embeddings, kind, settings)


def build_faiss(embeddings: EmbeddingIndex, kind: str, settings: IndexSettings, chunk: int = 65536) -> faiss.Index:
    """A faiss index of kind over the rows, trained on a seeded sample and filled chunk by chunk (bounded memory)."""
    import faiss  # imported where an approximate index is used: the exact path runs without faiss

    rows, dim = len(embeddings.ids), embeddings.dim
    parameters = settings.build_parameters(kind, rows)
    metric, fp16 = faiss.METRIC_INNER_PRODUCT, faiss.ScalarQuantizer.QT_fp16
    index: Any  # the three kinds share no faiss base class with all the attributes set here
    if kind == "hnsw":
        # faiss takes a ScalarQuantizer.QuantizerType here; its stub says ScalarQuantizer
        index = faiss.IndexHNSWSQ(dim, fp16, settings.hnsw_m, metric)  # type: ignore[arg-type]
        index.hnsw.efConstruction = settings.ef_construction
    else:
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivf":
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, parameters["nlist"], fp16, metric)
            index.by_residual = False  # the rows themselves in float16 (exact scores), not their offsets from a list
        else:
            if dim % settings.pq_m:
                raise ValueError(f"model.index.pq_m={settings.pq_m} does not divide the embedding size {dim}")
            index = faiss.IndexIVFPQ(quantizer, dim, parameters["nlist"], settings.pq_m, 8, metric)
        index.cp.seed = settings.seed
    if not index.is_trained:
        index.train(_sample(embeddings, parameters.get("train_rows", rows), settings.seed, chunk))
    for start in range(0, rows, chunk):
        index.add(np.ascontiguousarray(embeddings.rows(start, start + chunk)))
    return index


def _sample(embeddings: EmbeddingIndex, count: int, seed: int, chunk: int) -> np.ndarray:
    """count rows drawn without replacement (seeded), read chunk by chunk in file order."""
    rows = len(embeddings.ids)
    chosen = np.sort(np.random.default_rng(seed).choice(rows, size=min(count, rows), replace=False))
    parts = []
    for start in range(0, rows, chunk):
        picked = chosen[(chosen >= start) & (chosen < start + chunk)] - start
        if len(picked):
            parts.append(embeddings.rows(start, start + chunk)[picked])
    return np.ascontiguousarray(np.concatenate(parts))


def _record(embeddings: EmbeddingIndex, kind: str, settings: IndexSettings) -> dict[str, Any]:
    """What an index of kind over embeddings is built from (without the file's size and digest)."""
    made_from: dict[str, Any] = {"key": embeddings.key, "rows": len(embeddings.ids), "dim": embeddings.dim}
    if embeddings.source is not None:
        made_from |= {"file": embeddings.source.name, **file_stamp(embeddings.source)}
    return {
        "format": RECORD_FORMAT,
        "kind": kind,
        "parameters": settings.build_parameters(kind, len(embeddings.ids)),
        "embeddings": made_from,
    }


def _paths(folder: Path, kind: str) -> tuple[Path, Path]:
    return folder / f"ann-{kind}.faiss", folder / f"ann-{kind}.json"


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(16 << 20):
            digest.update(block)
    return digest.hexdigest()


def save_faiss(index: faiss.Index, folder: Path, kind: str, record: dict[str, Any]) -> None:
    """Writes the index and then its record (last: an index file without a record is never read)."""
    import faiss  # imported where an approximate index is used: the exact path runs without faiss

    path, record_path = _paths(folder, kind)
    record_path.unlink(missing_ok=True)
    partial = path.with_suffix(".partial")
    faiss.write_index(index, str(partial))
    partial.replace(path)
    stored = record | {"index": {"file": path.name, "size": path.stat().st_size, "sha256": _digest(path)}}
    atomic_write_text(record_path, json.dumps(stored, indent=1) + "\n")


def load_faiss(folder: Path, kind: str, record: dict[str, Any]) -> faiss.Index | None:
    """The saved index of kind if its record equals record (the embeddings and settings in use) and the file is the
    one the record describes (size, then SHA-256, checked before faiss reads a byte); else None, and a file that
    fails is deleted with a warning naming why."""
    import faiss  # imported where an approximate index is used: the exact path runs without faiss

    path, record_path = _paths(folder, kind)
    if not record_path.is_file() and not path.is_file():
        return None
    problem = _verify(path, record_path, record)
    index = None
    if problem is None:
        index = faiss.read_index(str(path))
        rows, dim = record["embeddings"]["rows"], record["embeddings"]["dim"]
        if index.ntotal != rows or index.d != dim:
            problem = f"it holds {index.ntotal} rows of {index.d}, its record {rows} of {dim}"
    if problem is not None:
        log.warning("the %s index %s is not used (%s): deleted, to be rebuilt", kind, path, problem)
        record_path.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        return None
    return index


def _verify(path: Path, record_path: Path, expected: dict[str, Any]) -> str | None:
    try:
        stored = json.loads(record_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"its record {record_path.name} is unreadable ({exc})"
    if not isinstance(stored, dict) or not isinstance(stored.get("index"), dict):
        return f"its record {record_path.name} names no index file"
    for field in ("format", "kind", "parameters", "embeddings"):
        if stored.get(field) != expected[field]:
            return f"built from other embeddings or settings ({field} differs)"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"no readable index file ({exc})"
    if size != stored["index"].get("size"):
        return f"{path.name} holds {size} bytes, its record says {stored['index'].get('size')}"
    if _digest(path) != stored["index"].get("sha256"):
        return f"{path.name} is not the file its record describes (SHA-256 differs)"
    return None


def _to_gpus(index: faiss.Index, kind: str, settings: IndexSettings) -> faiss.Index:
    """The index copied to every GPU where faiss has GPU support (faiss-gpu) and the kind runs there."""
    import faiss  # imported where an approximate index is used: the exact path runs without faiss

    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    if not settings.use_gpu or gpus < 1 or kind == "hnsw":
        return index
    try:
        return faiss.index_cpu_to_all_gpus(index)
    except (RuntimeError, AttributeError) as exc:  # a kind or size this faiss build cannot place on a GPU
        log.warning("the %s index stays on the CPU (%s)", kind, exc)
        return index
