"""Lifelog retrieval speed: CLIP image-embedding throughput, exact top-k query latency, and the index at scale.

    python scripts/bench_retrieval.py                                   # CPU: tiny CLIP, 200k x 512 index
    python scripts/bench_retrieval.py --model ViT-B-32 --device cuda --precision bf16 --images 4096
    OMP_NUM_THREADS=1 python scripts/bench_retrieval.py --scale 100000,1000000 --kinds exact,ivf,ivfpq,hnsw \
        --folder /tmp/bench-index                                      # the index at scale (docs/performance.md)
    python scripts/bench_retrieval.py --from-index RUN_INDEX_DIR --kinds exact,ivf,hnsw   # a real run's embeddings

The default part searches a random L2-normalised 200,000 x 512 index (the size of the 2020 collection
embedded with ViT-B/32) with the suite's EmbeddingIndex.search. `--scale` runs `bench_index_scale` instead:
each size's clustered synthetic embeddings are written through the project's EmbeddingWriter, then each
index kind is built and searched in a process of its own (peak RSS per build). `--from-index` does the same
on the embeddings a real run cached (its model.index_dir), with 100 of its rows as the queries. Prints Markdown
tables.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import time
from pathlib import Path

import numpy as np
import torch

from baselines.retrieval.index import EmbeddingIndex


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def embed_throughput(model: str, device: str, precision: str, images: int, batch: int, size: int) -> float:
    from baselines.models.base import Optim
    from baselines.models.retrieval import RetrievalModule  # open_clip: not imported by the index benchmarks

    task = RetrievalModule(model, None, Optim(lambda p: torch.optim.SGD(p, lr=0.0))).to(device).eval()
    pixels = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, device=device)  # as loaders give
    autocast = torch.autocast(device, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    with torch.no_grad(), autocast:
        task.encode_images(pixels)  # warm-up
        _sync(device)
        start = time.perf_counter()
        for _ in range(max(1, images // batch)):
            task.encode_images(pixels)
        _sync(device)
    return max(1, images // batch) * batch / (time.perf_counter() - start)


def query_latency(rows: int, dim: int, queries: int, k: int, device: str, resident_bytes: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((rows, dim), dtype=np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    index = EmbeddingIndex([str(i) for i in range(rows)], embeddings.astype(np.float16), np.zeros(rows))
    query = torch.nn.functional.normalize(torch.randn(queries, dim, device=device), dim=1)
    index.search(query[:1], k, resident_bytes=resident_bytes)  # warm-up (and the resident copy)
    timings = []
    for q in query:
        _sync(device)
        start = time.perf_counter()
        index.search(q[None], k, resident_bytes=resident_bytes)
        _sync(device)
        timings.append(time.perf_counter() - start)
    _sync(device)
    start = time.perf_counter()
    index.search(query, k, resident_bytes=resident_bytes)
    _sync(device)
    return float(np.median(timings) * 1000), (time.perf_counter() - start) * 1000 / queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="baselines-tiny-clip")
    parser.add_argument("--size", type=int, default=None, help="image side (default: 64 tiny, 224 otherwise)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--k", type=int, default=500)
    parser.add_argument("--scale", default=None, help="comma-separated collection sizes: the index-at-scale tables")
    parser.add_argument("--kinds", default="exact,ivf,ivfpq,hnsw", help="with --scale: the index kinds")
    parser.add_argument("--folder", type=Path, default=Path("bench_index"), help="with --scale: where files go")
    parser.add_argument(
        "--from-index", type=Path, action="append", default=[], help="with or instead of --scale: a saved index folder"
    )
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from bench_index_scale import child

        child(args.child)
        return
    if args.scale or args.from_index:
        from bench_index_scale import run_scale

        sizes = [int(size) for size in args.scale.split(",")] if args.scale else []
        run_scale(sizes, args.kinds.split(","), args.dim, args.folder, args.from_index)
        return
    size = args.size or (64 if args.model == "baselines-tiny-clip" else 224)
    throughput = embed_throughput(args.model, args.device, args.precision, args.images, args.batch, size)
    resident = query_latency(args.rows, args.dim, args.queries, args.k, args.device, 2 << 30)
    streamed = query_latency(args.rows, args.dim, args.queries, args.k, args.device, 0)
    device = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or "cpu"
    print(f"\ndevice: {device}; torch {torch.__version__}; threads {torch.get_num_threads()}\n")
    index = f"{args.rows:,} x {args.dim} fp16 index"
    rows = [
        (
            "image embedding",
            f"{args.model}, {size}px, batch {args.batch}, {args.precision}",
            f"{throughput:.1f} images/s",
        ),
    ]
    for name, (single, batched) in (("resident", resident), ("streamed chunks", streamed)):
        rows.append((f"exact top-{args.k} query, one at a time", f"{index}, {name}", f"{single:.2f} ms median"))
        rows.append(
            (f"exact top-{args.k} query, {args.queries} batched", f"{index}, {name}", f"{batched:.2f} ms per query")
        )
    print("| measurement | setting | value |")
    print("| --- | --- | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
