"""Corrupt or missing images: a clear error naming the file, or skip-and-report when asked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from baselines.config import compose_config
from baselines.io.formats.medcaption import read_concepts
from baselines.io.images import ImageReadError, load_rgb
from baselines.pipeline import run
from conftest import TINY_DRAWNUI
from tasks import KITS


@pytest.fixture
def damaged_root(drawnui_root: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """A copy of the tiny set where two images of the training split are damaged."""
    root = tmp_path / "copy"
    shutil.copytree(drawnui_root / "data", root / "data")
    first, second = (r.path for r in _datamodule(root).dataset("train").records[:2])
    first.write_bytes(first.read_bytes()[:300])  # truncated JPEG: the header still reads
    second.write_bytes(b"not an image at all")
    return root, sorted([first.name, second.name])


def _datamodule(root: Path, *overrides: str):  # type: ignore[no-untyped-def]
    cfg = compose_config(
        "train",
        [
            "experiment=drawnui",
            "+demo=drawnui",
            f"paths.root_dir={root}",
            f"paths.output_dir={root}/o",
            *TINY_DRAWNUI,
            *overrides,
        ],
    )
    return instantiate(cfg.data)


def test_unreadable_images_stop_before_training_naming_each_file(damaged_root: tuple[Path, list[str]]) -> None:
    root, names = damaged_root
    with pytest.raises(ImageReadError) as info:
        _datamodule(root).dataset("train")
    message = str(info.value)
    assert "2 unreadable file(s) in the train split" in message
    for name in names:
        assert f"{name}: cannot " in message  # cannot read the header / cannot decode
    assert "on_bad_image=skip" in message


def test_skip_reports_every_skipped_image(damaged_root: tuple[Path, list[str]]) -> None:
    root, names = damaged_root
    datamodule = _datamodule(root, "data.on_bad_image=skip")
    assert len(datamodule.dataset("train")) == 5 - 2  # 6 images, 1 held out for validation
    assert sorted(Path(s.split(": ")[0]).name for s in datamodule.skipped["train"]) == names


def test_load_rgb_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"nope.jpg: file not found"):
        load_rgb(tmp_path / "nope.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    with pytest.raises(ImageReadError, match=r"bad.jpg: cannot read image header"):
        load_rgb(tmp_path / "bad.jpg")


TINY_TB = KITS["tbct"].tiny


def test_corrupt_ct_and_missing_mask_are_named_or_skipped_and_reported(demo_cfg) -> None:  # type: ignore[no-untyped-def]
    cfg = demo_cfg("tbct", *TINY_TB)
    instantiate(cfg.synthetic)
    cts = sorted(Path(cfg.data.predict_cts).glob("*.nii.gz"))
    cts[0].write_bytes(cts[0].read_bytes()[:200])  # truncated gzip stream
    (Path(cfg.data.predict_masks) / cts[1].name).unlink()
    with pytest.raises(ImageReadError) as info:
        instantiate(cfg.data).dataset("predict")
    message = str(info.value)
    assert "2 unreadable file(s) in the predict split" in message
    assert f"{cts[0]}: cannot read NIfTI volume" in message
    assert f"{cts[1]}: no lung mask" in message

    skipping = instantiate(cfg.data, on_bad_image="skip")
    dataset = skipping.dataset("predict")
    assert [ct.name for ct in dataset.cts] == [ct.name for ct in cts[2:]]
    assert [s.split(": ")[0] for s in skipping.skipped["predict"]] == [str(cts[0]), str(cts[1])]


def _lifelog(demo_cfg, *overrides: str):  # type: ignore[no-untyped-def]
    cfg = demo_cfg("lmrt", "synthetic.n_events=8", *overrides)
    instantiate(cfg.synthetic)
    return cfg, instantiate(cfg.data), instantiate(cfg.model)


def test_unreadable_lifelog_image_stops_the_index_naming_the_file(demo_cfg) -> None:  # type: ignore[no-untyped-def]
    _, datamodule, model = _lifelog(demo_cfg)
    path = datamodule.collection.paths[datamodule.collection.images[3].image_id]
    path.write_bytes(b"not a jpeg")
    images = datamodule.collection.images
    with pytest.raises(ImageReadError, match=rf"{path}: cannot (decode image|read image header)"):
        model.build_index(datamodule.collection_loader(), [i.image_id for i in images], [i.time for i in images])


def test_skipped_lifelog_images_are_left_out_of_the_index_and_reported(demo_cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg, datamodule, model = _lifelog(demo_cfg, "data.on_bad_image=skip", f"model.index_dir={tmp_path}/index")
    images = datamodule.collection.images
    broken = datamodule.collection.paths[images[3].image_id]
    broken.write_bytes(b"not a jpeg")
    datamodule.collection.paths[images[5].image_id].unlink()
    fresh = instantiate(cfg.data)  # lists the images again: one is gone
    index = model.build_index(fresh.collection_loader(), [i.image_id for i in images], [i.time for i in images])
    assert index.ids == [i.image_id for k, i in enumerate(images) if k not in (3, 5)]
    assert len(model.skipped_images) == 2
    assert any(str(broken) in reason for reason in model.skipped_images)
    assert any(repr(images[5].image_id) in reason and "not found" in reason for reason in model.skipped_images)
    # a later run that loads the cached index still reports what the index lacks
    model.skipped_images = []
    cached = model.build_index(fresh.collection_loader(), [i.image_id for i in images], [i.time for i in images])
    assert cached.ids == index.ids
    assert [r.split(":")[0] for r in model.skipped_images] == [images[3].image_id, images[5].image_id]


def test_images_missing_from_a_label_file_are_an_error_or_skipped_and_reported(demo_cfg) -> None:  # type: ignore[no-untyped-def]
    cfg = demo_cfg("concepts", "synthetic.n_train=12", "synthetic.n_test=2")
    instantiate(cfg.synthetic)
    first = next(iter(read_concepts(cfg.data.train_concepts)))
    next(Path(cfg.data.train_images).rglob(f"{first}.*")).unlink()
    datamodule = instantiate(cfg.data)
    with pytest.raises(ImageReadError, match=rf"on_bad_image=skip.*\n.*{first}.jpg: file not found"):
        for split in ("train", "val"):  # wherever the held-out split put it
            datamodule.dataset(split)
    skipping = instantiate(cfg.data, on_bad_image="skip")
    kept = [*skipping.dataset("train").ids, *skipping.dataset("val").ids]
    assert first not in kept and len(kept) == 11
    reported = [*skipping.skipped["train"], *skipping.skipped["val"]]
    assert len(reported) == 1 and f"{first}.jpg: file not found" in reported[0]


def test_cts_missing_from_the_label_file_are_an_error_or_skipped_and_reported(demo_cfg) -> None:  # type: ignore[no-untyped-def]
    cfg = demo_cfg("tbct", *TINY_TB)
    instantiate(cfg.synthetic)
    gone = sorted(Path(cfg.data.train_cts).glob("*.nii.gz"))[0]
    gone.unlink()
    datamodule = instantiate(cfg.data)
    with pytest.raises(ImageReadError, match=rf"on_bad_image=skip.*\n{gone}: file not found"):
        for split in ("train", "val"):  # wherever the held-out split put it
            datamodule.dataset(split)
    skipping = instantiate(cfg.data, on_bad_image="skip")
    kept = [ct.name for split in ("train", "val") for ct in skipping.dataset(split).cts]
    assert gone.name not in kept and len(kept) == 7
    reported = [*skipping.skipped["train"], *skipping.skipped["val"]]
    assert reported == [f"{gone}: file not found"]


def test_the_pipeline_summary_reports_skipped_files(demo_cfg) -> None:  # type: ignore[no-untyped-def]
    cfg = demo_cfg("lmrt", "synthetic.n_events=8", "data.on_bad_image=skip", "debug=fast_dev_run")
    instantiate(cfg.synthetic)
    broken = sorted(Path(cfg.data.images).rglob("*.jpg"))[2]
    broken.write_bytes(b"not a jpeg")
    summary = run(cfg)
    (reason,) = summary["skipped"]["collection"]
    assert str(broken) in reason


def test_a_fully_skipped_lifelog_batch_is_a_zero_loss_on_every_parameter(demo_cfg) -> None:  # type: ignore[no-untyped-def]
    _, _, model = _lifelog(demo_cfg)
    loss = model.training_step({"id": [], "index": torch.zeros(0, dtype=torch.long), "skipped": ["a.jpg: gone"]}, 0)
    loss.backward()  # every parameter gets a (zero) gradient, so DDP ranks stay in step
    assert float(loss) == 0.0
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters() if p.requires_grad)


def test_non_finite_and_4d_volumes_are_named_or_skipped(demo_cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import nibabel as nib
    import numpy as np

    cfg = demo_cfg("tbct", *TINY_TB)
    instantiate(cfg.synthetic)
    cts = sorted(Path(cfg.data.predict_cts).glob("*.nii.gz"))
    image = nib.load(str(cts[0]))
    voxels = np.asarray(image.dataobj, np.float32)
    voxels[1, 1, 1] = np.nan
    nib.save(nib.Nifti1Image(voxels, image.affine), str(cts[0]))
    nib.save(nib.Nifti1Image(np.stack([voxels, voxels], -1), image.affine), str(cts[1]))
    with pytest.raises(ImageReadError) as info:
        instantiate(cfg.data).dataset("predict")
    message = str(info.value)
    assert f"{cts[0]}: 1 non-finite voxel(s) (NaN or inf) in the CT" in message
    assert f"{cts[1]}: 4D volume of shape" in message and "expected 3D" in message
    skipping = instantiate(cfg.data, on_bad_image="skip")
    assert [ct.name for ct in skipping.dataset("predict").cts] == [ct.name for ct in cts[2:]]


@pytest.mark.parametrize("task", ["tbct", "drawnui"])
def test_a_run_with_skipped_items_finishes_cleanly_and_lists_them(demo_cfg, task: str) -> None:  # type: ignore[no-untyped-def]
    from baselines.pipeline import run

    tiny = TINY_TB if task == "tbct" else ("synthetic.n_train=4", "synthetic.n_test=3", "data.image_size=128")
    cfg = demo_cfg(task, *tiny, "trainer.max_epochs=1", "data.on_bad_image=skip")
    instantiate(cfg.synthetic)
    folder = Path(cfg.data.predict_cts if task == "tbct" else cfg.data.predict_images)
    broken = sorted(p for p in folder.iterdir() if p.is_file())[0]
    broken.write_bytes(broken.read_bytes()[:100])
    summary = run(cfg)  # the skipped item leaves the reference too: validation passes, the scores are computed
    assert [s.split(": ")[0] for s in summary["skipped"]["predict"]] == [str(broken)]
    assert summary["scores"]
    lines = Path(summary["run_file"]).read_text().splitlines()
    assert not any(line.startswith(broken.name) or line.startswith(broken.stem + ";") for line in lines)


def test_a_truncated_jpeg_is_a_bad_image_not_a_grey_one(tmp_path: Path) -> None:
    """OpenCV decodes a cut JPEG without an error (grey rows, a libjpeg warning on stderr): it must be refused."""
    from baselines.io.images import check_images, unreadable_reason

    released = Path(__file__).parent / "fixtures" / "real_images" / "radiology" / "synpic18201.jpg"
    data = released.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) * 2 // 3])  # the header reads; the scan stops short
    padded = tmp_path / "padded.jpg"
    padded.write_bytes(data + b"\x00" * 64)  # padding after the end marker
    trailer = tmp_path / "trailer.jpg"
    trailer.write_bytes(data + b"phone maker's data" * 10)  # data after it: harmless, still an image

    assert "truncated" in (unreadable_reason(cut) or "")
    with pytest.raises(ImageReadError, match=rf"{cut}: truncated or corrupt JPEG data"):
        load_rgb(cut)
    with pytest.raises(ImageReadError, match=rf"1 unreadable file\(s\) in the train split.*\n{cut}: truncated"):
        check_images([released, cut, padded], "error", "train")
    assert check_images([released, cut, padded], "skip", "train") == ([0, 2], [f"{cut}: {unreadable_reason(cut)}"])
    for complete in (padded, trailer):
        assert unreadable_reason(complete) is None
        assert (load_rgb(complete) == load_rgb(released)).all()
