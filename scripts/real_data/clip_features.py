"""Precomputed CLIP image embeddings -> the project's embedding index, for the real-embedding recall rows of
docs/performance.md (`python scripts/bench_retrieval.py --from-index OUT --kinds exact,ivf,hnsw,ivfpq`).

Input: a folder of `.npy` files, one per video (or day of a lifelog), each (frames, D) float16 or float32 CLIP
image embeddings in time order, as many video-retrieval challenges hand them out. The rows used in
docs/performance.md are the HCMC AI Challenge 2025 keyframe features (batch 1, videos L21-L30, 177,321 keyframes
of news videos, OpenAI CLIP ViT-B/32, 512-d float16), as re-committed by a participant in
huynhgiangnhatkhang-coder/AIC2026@d873dbf `clip-features-32-aic25-b1/clip-features-32/`: no licence is stated,
so they stay on the machine that benchmarks, never in this repository.

Each file's header is read alone and checked (2-D, float16 or float32, one width for all, the file as long as its
header says) before its rows are loaded with `allow_pickle=False`; rows must be unit length (within float16's
precision) or the file is refused by name. Exact duplicate rows are dropped and counted (tied scores make "the
exact top-k" ambiguous, so recall would count a tie as a miss). Then 100 rows drawn with a fixed seed are held out
as the queries (`queries.npy`): image-to-image search for a frame the index does not hold, as text embeddings of
real topics are not at hand. The others go through `EmbeddingWriter` (the path LMRT's `model.index_dir` takes),
ids `<file stem>/<row>`, times one second apart.

    python scripts/real_data/clip_features.py FEATURES_DIR OUT
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from baselines.io.npy import npy_file
from baselines.retrieval.store import EmbeddingWriter

QUERIES = 100
NORM_TOLERANCE = 2e-3  # float16 rows of a unit vector have norms within about 1e-3 of 1


def read_features(folder: Path) -> tuple[list[str], np.ndarray]:
    """(ids, float32 rows) of every `.npy` file in folder, files by name, rows in file order.

    Raises:
        SystemExit: A file that is not a 2-D float16/float32 array of unit rows, of one width with the others.
    """
    files = sorted(folder.glob("*.npy"))
    if not files:
        raise SystemExit(f"{folder}: no .npy files")
    ids: list[str] = []
    parts: list[np.ndarray] = []
    width = None
    for path in files:
        try:
            shape, dtype, length = npy_file(path)
        except ValueError as exc:
            raise SystemExit(f"{path}: not a .npy array ({exc})") from None
        if len(shape) != 2 or dtype not in (np.dtype("<f2"), np.dtype("<f4")):
            raise SystemExit(f"{path}: a (frames, D) float16 or float32 array was expected, not {shape} {dtype}")
        if width is not None and shape[1] != width:
            raise SystemExit(f"{path}: {shape[1]}-d rows, where the files before it hold {width}-d rows")
        if path.stat().st_size != length:
            raise SystemExit(f"{path}: {path.stat().st_size} bytes, where its header says {length}")
        width = shape[1]
        rows = np.load(path, allow_pickle=False).astype(np.float32)
        norms = np.linalg.norm(rows, axis=1)
        bad = np.flatnonzero(np.abs(norms - 1.0) > NORM_TOLERANCE)
        if len(bad):
            raise SystemExit(f"{path}: row {bad[0]} has norm {norms[bad[0]]:.4f}; unit-length embeddings were expected")
        ids += [f"{path.stem}/{row}" for row in range(len(rows))]
        parts.append(rows)
    return ids, np.concatenate(parts)


def convert(source: Path, out: Path, queries: int = QUERIES, seed: int = 2) -> dict[str, int]:
    """Writes the index and queries.npy under out; returns the counts of rows read, duplicates dropped, indexed."""
    ids, rows = read_features(source)
    _, first = np.unique(rows, axis=0, return_index=True)
    keep = np.sort(first)  # the first of each set of equal rows, in file order
    held_out = np.sort(np.random.default_rng(seed).choice(len(keep), size=queries, replace=False))
    indexed = np.delete(keep, held_out)
    writer = EmbeddingWriter(out, len(indexed))
    for start in range(0, len(indexed), 65536):
        chosen = indexed[start : start + 65536]
        writer.add([ids[i] for i in chosen], chosen.astype(np.float64), rows[chosen])
    writer.finish(f"clip features of {source.name}")
    np.save(out / "queries.npy", rows[keep[held_out]])
    return {"read": len(rows), "duplicates": len(rows) - len(keep), "indexed": len(indexed), "queries": queries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="folder of (frames, D) .npy CLIP embeddings, one file per video")
    parser.add_argument("out", type=Path, help="the embedding index folder to write")
    args = parser.parse_args()
    counts = convert(args.source, args.out)
    print(
        f"{counts['read']:,} rows read, {counts['duplicates']:,} exact duplicates dropped, {counts['indexed']:,} "
        f"indexed, {counts['queries']} held out as queries: {args.out}"
    )


if __name__ == "__main__":
    main()
