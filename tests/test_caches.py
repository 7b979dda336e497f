"""Caches that check themselves: an entry records what it was made from and is used only if that still holds; a bad
or stale entry is deleted and rebuilt with a warning, never used, never left to fail the next run (issue 26)."""

from __future__ import annotations

import gzip
import json
import os
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.data import tuberculosis as tuberculosis_data
from baselines.data.tuberculosis import cached_ct, preprocess_ct
from baselines.io.lungs import LungPreprocessing
from baselines.models.base import Optim
from baselines.models.retrieval import RetrievalModule
from baselines.retrieval.index import EmbeddingIndex
from baselines.synthetic import tuberculosis

SETTINGS = LungPreprocessing(size=(4, 8, 8))


@pytest.fixture(scope="module")
def cts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tb")
    return tuberculosis.generate(root, n_train=2, n_test=0, size=24)


def _pair(cts: Path, tmp_path: Path, k: int = 1) -> tuple[Path, Path]:
    """A copy of one CT and its mask (each test changes its own files)."""
    name = f"CTR_TRN_{k:03d}.nii.gz"
    (tmp_path / "ct").mkdir(exist_ok=True)
    (tmp_path / "masks").mkdir(exist_ok=True)
    volume, mask = tmp_path / "ct" / name, tmp_path / "masks" / name
    volume.write_bytes((cts / "CTR_TRN_data" / name).read_bytes())
    mask.write_bytes((cts / "CTR_TRN_masks1" / name).read_bytes())
    return volume, mask


def _entry(cache: Path) -> Path:
    (entry,) = cache.glob("*.npy")
    return entry


def test_an_entry_records_what_it_was_made_from(cts: Path, tmp_path: Path) -> None:
    volume, mask = _pair(cts, tmp_path)
    first = cached_ct(volume, mask, SETTINGS, tmp_path / "cache")
    record = json.loads(_entry(tmp_path / "cache").with_suffix(".json").read_text())
    assert [s["path"] for s in record["sources"]] == [str(volume.resolve()), str(mask.resolve())]
    assert {"size", "mtime_ns", "sha256"} <= set(record["sources"][0])
    assert (record["shape"], record["dtype"]) == ([2, 4, 8, 8], "float16")
    assert np.array_equal(cached_ct(volume, mask, SETTINGS, tmp_path / "cache"), first)  # a hit


def test_a_planted_entry_of_another_shape_is_deleted_and_rebuilt(
    cts: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    volume, mask = _pair(cts, tmp_path)
    cached_ct(volume, mask, SETTINGS, tmp_path / "cache")
    entry = _entry(tmp_path / "cache")
    np.save(entry, np.ones((2, 3, 3, 3), np.float16))  # planted: another shape under the right name
    again = cached_ct(volume, mask, SETTINGS, tmp_path / "cache")
    assert again.shape == (2, 4, 8, 8) and np.array_equal(again, preprocess_ct(volume, mask, SETTINGS))
    assert "is not used (holds (2, 3, 3, 3) float16, not (2, 4, 8, 8) float16): deleted and rebuilt" in caplog.text
    assert np.load(entry).shape == (2, 4, 8, 8)  # the entry on disk is good again


def test_a_truncated_entry_is_rebuilt_not_refused(cts: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    volume, mask = _pair(cts, tmp_path)
    expected = cached_ct(volume, mask, SETTINGS, tmp_path / "cache")
    entry = _entry(tmp_path / "cache")
    entry.write_bytes(entry.read_bytes()[:-100])
    assert np.array_equal(cached_ct(volume, mask, SETTINGS, tmp_path / "cache"), expected)
    assert "(truncated or padded): deleted and rebuilt" in caplog.text
    assert np.array_equal(np.load(entry), expected)  # the next run finds a good entry


def test_a_ct_rewritten_with_the_same_size_and_mtime_is_not_served_stale(
    cts: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    volume, mask = _pair(cts, tmp_path, 1)
    old = cached_ct(volume, mask, SETTINGS, tmp_path / "cache")
    info = os.stat(volume)
    # another CT (the other patient's voxels) as a gzip of exactly the first's size (gzip ignores trailing zeros)
    body = gzip.compress(
        gzip.decompress((cts / "CTR_TRN_data" / "CTR_TRN_002.nii.gz").read_bytes()), compresslevel=9, mtime=0
    )
    assert len(body) <= info.st_size
    volume.write_bytes(body + b"\0" * (info.st_size - len(body)))
    os.utime(volume, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert (os.stat(volume).st_size, os.stat(volume).st_mtime_ns) == (info.st_size, info.st_mtime_ns)
    tuberculosis_data._HASHED.clear()  # as in a new process (this one remembers the hash of what it read)
    new = cached_ct(volume, mask, SETTINGS, tmp_path / "cache")
    assert "made from other sources" in caplog.text
    assert np.array_equal(new, preprocess_ct(volume, mask, SETTINGS)) and not np.array_equal(new, old)


# ---- LMRT index ----------------------------------------------------------------------------------------------


def _index(n: int = 3) -> EmbeddingIndex:
    rows = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    return EmbeddingIndex([f"i{k}" for k in range(n)], rows, np.arange(n, dtype=np.float64), "key-1")


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda f: (f / "meta.json").write_text(json.dumps({"ids": ["a", "b", "c", "d"], "key": "key-1"})),
         "embeddings.npy holds (3, 8) float16 for 4 ids"),
        (lambda f: (f / "embeddings.npy").write_bytes((f / "embeddings.npy").read_bytes()[:-10]),
         "embeddings.npy is truncated"),
        (lambda f: (f / "meta.json").write_text("{not json"), "unreadable meta.json"),
        (lambda f: np.save(f / "times.npy", np.zeros(2)), "times.npy holds (2,) float64 for 3 ids"),
    ],
    ids=["4 ids for 3 rows", "truncated embeddings", "broken meta", "times of another length"],
)  # fmt: skip
def test_a_bad_index_is_deleted_with_a_warning_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object, why: str
) -> None:
    _index().save(tmp_path / "idx")
    damage(tmp_path / "idx")  # type: ignore[operator]
    assert EmbeddingIndex.load(tmp_path / "idx", "key-1") is None  # no raw ValueError, nothing used
    assert why in caplog.text and "deleted, to be rebuilt" in caplog.text
    assert not (tmp_path / "idx" / "meta.json").exists()
    _index().save(tmp_path / "idx")  # what the model then does: a rebuilt index loads
    assert EmbeddingIndex.load(tmp_path / "idx", "key-1") is not None


class _Loader(list):
    """What `build_index` reads: batches of images with their ids and rows."""


def _loader(images: torch.Tensor) -> _Loader:
    return _Loader([{"id": [f"i{k}" for k in range(len(images))], "index": torch.arange(len(images)), "image": images}])


def test_changed_images_under_the_same_ids_rebuild_the_lmrt_index(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = RetrievalModule(
        "baselines-tiny-clip", None, Optim(partial(torch.optim.AdamW)), index_dir=str(tmp_path / "idx")
    )
    model.eval()
    files = {}
    for k in range(3):
        files[f"i{k}"] = tmp_path / f"i{k}.jpg"
        files[f"i{k}"].write_bytes(b"image %d" % k)
    ids, times = list(files), [0.0, 60.0, 120.0]
    first_images = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    first = model.build_index(_loader(first_images), ids, times, files)
    cached = model.build_index(_loader(torch.zeros(3, 3, 64, 64)), ids, times, files)  # a hit: not re-embedded
    assert np.array_equal(np.asarray(cached.embeddings), np.asarray(first.embeddings))
    files["i1"].write_bytes(b"another picture, same id")  # the image changed: size and mtime differ
    changed = model.build_index(_loader(torch.zeros(3, 3, 64, 64)), ids, times, files)
    assert not np.array_equal(np.asarray(changed.embeddings), np.asarray(first.embeddings))
    assert "its key differs" in caplog.text
