"""The retrieval LightningModule (lifelog moment retrieval): a CLIP model from open_clip.

- fit (optional): contrastive fine-tuning on image-caption pairs (captions from the lifelog metadata),
  with open_clip's ClipLoss: under DDP every rank's pairs are gathered, so each image is contrasted
  with the captions of the global batch (as one process with the whole batch would), not only with
  those of its own GPU's share;
- predict: the collection is embedded once (batched, each batch written into a preallocated float16 file
  cached on disk as an EmbeddingIndex keyed by the weights and the collection; under DDP each rank embeds
  a shard and rank 0 merges them), each topic's text is encoded, the cosine top candidates (exact, or from
  a faiss index for millions of images: `index`, baselines.retrieval.ann) are re-ranked for diversity over
  time (temporal MMR), and the top `top_k` are returned with confidences that decrease with rank (the
  evaluator ranks by confidence).

The network is `baselines.models.nets.clip.create_clip`'s (`baselines-tiny-clip` is its random-init test size).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
import torch.distributed as dist
import torch.nn.functional as F
from open_clip.loss import ClipLoss

from baselines.ensemble.mmr import temporal_mmr
from baselines.models.base import BaseModule, Optim
from baselines.models.nets.clip import create_clip
from baselines.retrieval.ann import IndexSettings, Searcher, open_searcher
from baselines.retrieval.index import EmbeddingIndex
from baselines.retrieval.shards import merge_shards, shard_folder, shard_key, shard_rows
from baselines.retrieval.store import EmbeddingWriter

log = logging.getLogger(__name__)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class RetrievalModule(BaseModule):
    """Args:
    model_name: open_clip model name (ViT-B-32, ..., or baselines-tiny-clip).
    pretrained: open_clip pretrained tag or checkpoint path; None for random init.
    optim: Optimizer, scheduler and how the network runs (see BaseModule).
    top_k: Images returned per topic (50: no 2020 cap is published, the validator warns above 50).
    candidates: Cosine top candidates handed to the re-ranking.
    diversity_weight: MMR weight of relevance (1 disables the temporal diversity).
    time_scale_minutes: Time over which two moments count as the same event.
    index_dir: Where the collection embeddings (and an approximate index over them) are cached (None: in
        memory only).
    index: How the collection is searched (exact, or a faiss index: baselines.retrieval.ann.IndexSettings).
    """

    def __init__(
        self,
        model_name: str,
        pretrained: str | None,
        optim: Optim,
        top_k: int = 50,
        candidates: int = 500,
        diversity_weight: float = 0.7,
        time_scale_minutes: float = 30.0,
        index_dir: str | None = None,
        index: IndexSettings | None = None,
    ) -> None:
        super().__init__(optim)
        self.net = create_clip(model_name, pretrained)
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self.model_name = model_name
        self.top_k = top_k
        self.candidates = candidates
        self.diversity_weight = diversity_weight
        self.time_scale = time_scale_minutes * 60.0
        self.index_dir = index_dir
        self.index_settings = index if index is not None else IndexSettings()
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)
        self.index: EmbeddingIndex | None = None
        self.searcher: Searcher | None = None
        self.skipped_images: list[str] = []
        self.clip_loss = ClipLoss()  # one process; setup() gives it the trainer's ranks
        self.local_clip_loss = ClipLoss()

    def setup(self, stage: str) -> None:
        super().setup(stage)
        # gather_with_grad: the gathered features carry gradients back to the rank that computed them,
        # so DDP's averaged gradient equals that of one process over the global batch (open_clip's
        # default sends only the local part's gradient, a 1/world_size-scaled estimate).
        self.clip_loss = ClipLoss(
            gather_with_grad=True, cache_labels=True, rank=self.trainer.global_rank, world_size=self.trainer.world_size
        )

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        mean: torch.Tensor = self.mean  # type: ignore[assignment]
        std: torch.Tensor = self.std  # type: ignore[assignment]
        features = self.net.encode_image((self.prepare_images(images) - mean) / std)  # type: ignore[operator]
        return F.normalize(features.float(), dim=-1)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(texts).to(self.device)
        return F.normalize(self.net.encode_text(tokens).float(), dim=-1)  # type: ignore[operator]

    def _all_ranks_hold(self, count: int) -> bool:
        """Whether every rank's batch has `count` pairs (a collective: every rank calls it, every step).

        ClipLoss gathers equal-sized features. The distributed sampler gives every rank the same number
        of pairs; only images skipped as unreadable (on_bad_image=skip) make them differ, and then all
        ranks agree to contrast locally for that step rather than deadlock in a mismatched gather.
        """
        counts = torch.tensor([count, -count], device=self.device)
        dist.all_reduce(counts, op=dist.ReduceOp.MAX)
        return int(counts[0]) == -int(counts[1])

    def contrastive_loss(self, batch: dict[str, Any]) -> torch.Tensor | None:
        """CLIP's symmetric InfoNCE loss of the batch's image-caption pairs; None if it has no pair.

        Under DDP (every rank must call it at each step) the negatives are the global batch's.
        """
        count = len(batch["id"])
        gather = self.clip_loss.world_size > 1 and self._all_ranks_hold(count)
        if not count:
            return None
        if self.clip_loss.world_size > 1 and not gather:
            log.warning("ranks hold different numbers of pairs (skipped images): this step contrasts locally")
        images, texts = self.encode_images(batch["image"]), self.encode_texts(batch["text"])
        loss_fn = self.clip_loss if gather else self.local_clip_loss
        return loss_fn(images, texts, self.net.logit_scale.exp())  # type: ignore[operator]

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.contrastive_loss(batch)
        if loss is None:
            # every image of the batch was unreadable and skipped (on_bad_image=skip): a zero loss that
            # touches every parameter, so DDP ranks still all-reduce in step with each other
            return (
                sum((p.sum() for p in self.parameters() if p.requires_grad), torch.zeros((), device=self.device)) * 0.0
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["id"]))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        loss = self.contrastive_loss(batch)
        if loss is not None:
            self.log("val/loss", loss, batch_size=len(batch["id"]), sync_dist=True)

    def _index_key(self, ids: list[str], paths: Mapping[str, Path] | None = None) -> str:
        """The weights, the ids and each image's path, size and mtime (ns): changed images under the same ids, or
        other weights, make another key (a stale index)."""
        digest = hashlib.sha256(self.model_name.encode())
        for name, tensor in sorted(self.net.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
        digest.update("\n".join(ids).encode())
        for image_id in ids if paths is not None else ():
            path = paths.get(image_id)  # type: ignore[union-attr]
            try:
                info = os.stat(path) if path is not None else None
            except OSError:
                info = None
            stamp = f"{path}|{info.st_size}|{info.st_mtime_ns}" if info is not None else f"{path}|missing"
            digest.update(f"\n{stamp}".encode())
        return digest.hexdigest()

    @torch.no_grad()
    def build_index(
        self,
        loader: Any,
        ids: list[str],
        times: list[float],
        paths: Mapping[str, Path] | None = None,
        shard: tuple[int, int] | None = None,
    ) -> EmbeddingIndex:
        """Embeds the collection (or loads the cached embeddings computed with the same weights from the same
        image files: see `_index_key`; a stale or bad cached index is deleted and rebuilt, with a warning).

        Each batch is written into a preallocated array as it comes (a float16 file under index_dir): the
        collection is never held twice. shard=(s, n) embeds only the s-th of n contiguous parts of the
        collection into index_dir/shards/ (one process or GPU each; `merge_index_shards` joins them) and returns
        that part.
        """
        key = self._index_key(ids, paths)
        if self.index_dir and (cached := EmbeddingIndex.load(self.index_dir, key)) is not None:
            kept = set(cached.ids)
            self.skipped_images = [
                f"{i}: left out of the cached index (unreadable when it was built)" for i in ids if i not in kept
            ]
            return cached
        if shard is None:
            index = self._embed(loader, ids, times, len(ids), self.index_dir, key)
            if not index.ids:
                raise ValueError("no readable image in the lifelog collection")
            return index
        if not self.index_dir:
            raise ValueError("a sharded index is written under model.index_dir: give one")
        rows = shard_rows(len(ids), *shard)
        folder = shard_folder(self.index_dir, *shard)
        return self._embed(_subset_loader(loader, rows), ids, times, len(rows), str(folder), shard_key(key, *shard))

    def merge_index_shards(self, ids: list[str], paths: Mapping[str, Path] | None, shards: int) -> EmbeddingIndex:
        """The index of index_dir made of the `shards` parts `build_index(..., shard=(s, shards))` wrote."""
        assert self.index_dir is not None
        key = self._index_key(ids, paths)
        merge_shards(self.index_dir, shards, key)
        index = EmbeddingIndex.load(self.index_dir, key)
        if index is None or not index.ids:
            raise ValueError(f"no readable image in the lifelog collection (the shards merged in {self.index_dir})")
        return index

    def _embed(
        self, loader: Any, ids: list[str], times: list[float], capacity: int, folder: str | None, key: str
    ) -> EmbeddingIndex:
        writer = EmbeddingWriter(folder, capacity)
        skipped: list[str] = []
        for batch in loader:
            skipped.extend(batch.get("skipped", []))
            if batch["id"]:
                rows = [int(i) for i in batch["index"]]
                embeddings = self.encode_images(batch["image"].to(self.device, non_blocking=True)).cpu().numpy()
                # times as float32 values, as this path always stored them (bit-identical rankings)
                writer.add([ids[r] for r in rows], [float(np.float32(times[r])) for r in rows], embeddings)
        if skipped:
            log.warning("%d unreadable images left out of the index: %s", len(skipped), "; ".join(skipped[:5]))
        self.skipped_images = skipped
        if folder is None and not writer.ids:
            raise ValueError("no readable image in the lifelog collection")
        kept_ids, embeddings, kept_times = writer.finish(key)
        # a saved index is searched as saved (float16, memory-mapped), so a later run from the cache ranks identically
        source = Path(folder) / "embeddings.npy" if folder is not None and kept_ids else None
        return EmbeddingIndex(kept_ids, embeddings, kept_times, key, source=source)

    def on_predict_start(self) -> None:
        collection = self.trainer.datamodule.collection  # type: ignore[attr-defined]
        loader = self.trainer.datamodule.collection_loader()  # type: ignore[attr-defined]
        ids = [image.image_id for image in collection.images]
        times = [image.time for image in collection.images]
        paths = getattr(collection, "paths", None)
        world, rank = self.trainer.world_size, self.trainer.global_rank
        if world > 1 and self.index_dir and EmbeddingIndex.load(self.index_dir, self._index_key(ids, paths)) is None:
            # each rank embeds its part of the collection; rank 0 joins them while the others wait
            self.build_index(loader, ids, times, paths, shard=(rank, world))
            self.trainer.strategy.barrier("lifelog index shards")
            if rank == 0:
                self.merge_index_shards(ids, paths, world)
            self.trainer.strategy.barrier("lifelog index merged")
            # what every shard left out, with its reasons, in shard order (= collection order, as one process
            # reports it): rank 0 writes the report, and its own shard is only a part of the collection
            parts: list[list[str]] = [[] for _ in range(world)]
            torch.distributed.all_gather_object(parts, self.skipped_images)
            self.index = self.build_index(loader, ids, times, paths)  # loads the merged index
            self.skipped_images = [message for part in parts for message in part]
        else:
            self.index = self.build_index(loader, ids, times, paths)
        self.searcher = open_searcher(self.index, self.index_settings)
        if self.skipped_images:
            self.trainer.datamodule.skipped["collection"] = self.skipped_images  # type: ignore[attr-defined]

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> list[dict[str, Any]]:
        assert self.index is not None and self.searcher is not None
        scores, rows = self.searcher.search(self.encode_texts(batch["text"]), self.candidates)
        results = []
        for i in range(len(batch["id"])):
            candidate_rows = rows[i].tolist()
            order = temporal_mmr(
                scores[i].tolist(),
                [float(self.index.times[r]) for r in candidate_rows],
                self.top_k,
                self.diversity_weight,
                self.time_scale,
            )
            ranking = [self.index.ids[candidate_rows[j]] for j in order]
            confidences = [1.0 - r / max(len(ranking), 1) for r in range(len(ranking))]
            results.append(
                {"id": batch["id"][i], "index": int(batch["index"][i]), "images": ranking, "confidences": confidences}
            )
        return results


def _subset_loader(loader: Any, rows: range) -> torch.utils.data.DataLoader:
    """A loader like `loader` (a DataLoader) over the given rows of its dataset only."""
    return torch.utils.data.DataLoader(
        torch.utils.data.Subset(loader.dataset, rows),
        batch_size=loader.batch_size,
        num_workers=loader.num_workers,
        pin_memory=loader.pin_memory,
        collate_fn=loader.collate_fn,
    )
