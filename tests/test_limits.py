"""Small hostile files stay small: every size a file claims is checked against its file, its image or a stated
cap before anything is allocated, with a clear error naming the file and the limit (issue 26, docs/security.md)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from baselines.cli import main
from baselines.ensemble import FusionOptions, ensemble_runs
from baselines.errors import FormatError
from baselines.io.lungs import read_canonical_ct
from baselines.io.sidecar import read_sidecar, write_sidecar
from baselines.tasks import get_task
from baselines.visual.render import Line, beside


@pytest.fixture
def peak_memory() -> Iterator[Callable[[], int]]:
    """The peak of Python and numpy allocations since the test began (tracemalloc sees numpy's arrays)."""
    tracemalloc.start()
    yield lambda: tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()


# ---- import-coco --------------------------------------------------------------------------------------------


def _coco(tmp_path: Path, segmentation: object, image: dict | None = None) -> list[str]:
    dataset = {
        "images": [image or {"id": 1, "file_name": "a.jpg"}],
        "categories": [{"id": 1, "name": "button"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": segmentation}],
    }
    (tmp_path / "coco.json").write_text(json.dumps(dataset))
    return ["import-coco", "--task", "drawnui", str(tmp_path / "coco.json"), "-o", str(tmp_path / "run.txt")]


def test_an_rle_larger_than_the_cap_is_refused_before_decoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _coco(tmp_path, {"size": [30000, 30000], "counts": "0"})  # a 228-byte file asking for 900 M pixels
    assert (tmp_path / "coco.json").stat().st_size < 300
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "coco.json:1: cannot read its geometry (an RLE of 30000x30000 = 900,000,000 pixels" in err
    assert "more than the cap of 178,956,970 (max_image_pixels; raise it with --max-image-pixels" in err
    assert not (tmp_path / "run.txt").exists()


def test_an_rle_of_another_size_than_its_image_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}
    assert main(_coco(tmp_path, {"size": [30000, 30000], "counts": "0"}, image)) == 2
    assert "an RLE of 30000x30000 for an image of 100x80" in capsys.readouterr().err
    assert not (tmp_path / "run.txt").exists()


def test_an_image_size_beyond_the_cap_is_refused_unless_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = {"id": 1, "file_name": "a.jpg", "width": 20000, "height": 20000}
    dataset = {
        "images": [image],
        "categories": [{"id": 1, "name": "button"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40]}],
    }
    (tmp_path / "coco.json").write_text(json.dumps(dataset))
    args = ["import-coco", "--task", "drawnui", str(tmp_path / "coco.json"), "-o", str(tmp_path / "run.txt")]
    assert main(args) == 2
    assert "20000 x 20000 must be positive integers of at most 178,956,970 pixels" in capsys.readouterr().err
    assert main([*args, "--max-image-pixels", "400000000"]) == 0  # the override, for a real image that large
    assert (tmp_path / "run.txt").read_text() == "a.jpg;button 1:30x40+1+2\n"


def test_a_polygon_vertex_far_off_the_image_is_clipped_not_a_crash(tmp_path: Path) -> None:
    image = {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}
    polygon = [[10, 10, 999999999, 20, 30, 60]]
    args = _coco(tmp_path, polygon, image)
    # in a child process: on the old code pycocotools died of SIGSEGV here
    done = subprocess.run([sys.executable, "-m", "baselines.cli", *args[0:]], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run.txt").read_text().startswith("a.jpg;button 1:")


# ---- run files with a vertex far off (evaluate, ensemble) -----------------------------------------------------


def _coral_polygon_files(tmp_path: Path, vertex: int) -> tuple[Path, Path, Path]:
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (64, 48)).save(images / "img.jpg")
    gt, run = tmp_path / "gt.txt", tmp_path / "run.txt"
    gt.write_text("img 1 c_sponge 1 10 10 40 10 40 40 10 40\n")
    run.write_text(f"img;c_sponge 0.9:10+10+40+10+{vertex}+40+10+40\n")
    return gt, run, images


def test_evaluate_a_vertex_at_999999999_is_no_crash(tmp_path: Path) -> None:
    gt, run, images = _coral_polygon_files(tmp_path, 999999999)
    base = [sys.executable, "-m", "baselines.cli", "evaluate", "--task", "coral_polygons", str(run), "--gt", str(gt)]
    with_images = subprocess.run([*base, "--images", str(images)], capture_output=True, text=True)
    assert with_images.returncode == 0, with_images.stderr  # the old code: -11 (SIGSEGV in pycocotools)
    assert "map_50" in with_images.stdout
    # without the images the canvas would be guessed from the regions: refused, naming the cap and the way out
    guessed = subprocess.run(base, capture_output=True, text=True)
    assert guessed.returncode == 2
    assert "a 1000000000x41 canvas of more than 16,777,216 pixels" in guessed.stderr
    assert "Give --images" in guessed.stderr


def test_ensemble_without_images_refuses_a_canvas_larger_than_any_image(tmp_path: Path) -> None:
    spec = get_task("coral_polygons")
    runs = []
    for k, vertex in enumerate((40, 12000)):
        path = tmp_path / f"run{k}.txt"
        path.write_text(f"img;c_sponge 0.9:10+10+40+10+{vertex}+{vertex}+10+40\n")  # one vertex at (12000, 12000)
        runs.append(path)
    with pytest.raises(ValueError, match=r"a 12001x12001 canvas of more than 16,777,216 pixels .* Give --images"):
        ensemble_runs(spec, runs, tmp_path / "fused.txt", options=FusionOptions())
    assert not (tmp_path / "fused.txt").exists()


# ---- NIfTI ---------------------------------------------------------------------------------------------------


def _header_only(path: Path, shape: tuple[int, int, int]) -> Path:
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(np.int16)
    header.set_sform(np.eye(4), code=1)
    path.write_bytes(header.binaryblock + b"\x00" * 4)  # a 352-byte file claiming shape
    return path


def test_a_nifti_header_claiming_more_voxels_than_the_cap_is_refused_unread(
    tmp_path: Path, peak_memory: Callable[[], int]
) -> None:
    path = _header_only(tmp_path / "bomb.nii", (1100, 1100, 1100))
    assert path.stat().st_size < 400
    with pytest.raises(ValueError, match=r"bomb.nii: its header claims 1100x1100x1100 = 1,331,000,000 voxels, more "
                       r"than the cap of 268,435,456 \(data.max_ct_voxels\)"):  # fmt: skip
        read_canonical_ct(path)
    assert peak_memory() < 10 << 20


def test_a_nifti_header_claiming_more_than_its_file_holds_is_refused_unread(
    tmp_path: Path, peak_memory: Callable[[], int]
) -> None:
    path = _header_only(tmp_path / "short.nii", (400, 400, 400))  # under the cap, but 128 MB it does not hold
    with pytest.raises(ValueError, match=r"short.nii: its header claims 400x400x400 voxels \(128,000,\d+ bytes with "
                       r"the header\), the file holds 352"):  # fmt: skip
        read_canonical_ct(path)
    assert peak_memory() < 10 << 20


def test_a_gzip_bomb_is_refused_from_its_header_and_the_cap_can_be_raised(
    tmp_path: Path, peak_memory: Callable[[], int]
) -> None:
    volume = np.zeros((160, 160, 160), np.int16)  # 8 MB of zeros: a gzip of a few KB
    path = tmp_path / "zeros.nii.gz"
    nib.save(nib.Nifti1Image(volume, np.eye(4)), str(path))
    del volume
    assert path.stat().st_size < 50_000
    tracemalloc.reset_peak()
    with pytest.raises(ValueError, match=r"zeros.nii.gz: its header claims 160x160x160 = 4,096,000 voxels, more "
                       r"than the cap of 1,000,000"):  # fmt: skip
        read_canonical_ct(path, max_voxels=1_000_000)
    assert peak_memory() < 4 << 20  # nothing inflated
    assert read_canonical_ct(path, max_voxels=5_000_000).shape == (160, 160, 160)


def test_the_tuberculosis_config_names_the_cap() -> None:
    from baselines.config import compose_config

    cfg = compose_config("train", ["experiment=tbct", "paths.output_dir=/tmp/x", "data.max_ct_voxels=1000"])
    from hydra.utils import instantiate

    assert instantiate(cfg.data).max_ct_voxels == 1000


# ---- score sidecars ------------------------------------------------------------------------------------------


def _sidecar(tmp_path: Path, items: int, labels: int) -> tuple[Path, Path]:
    run = tmp_path / "run.txt"
    run.write_text("".join(f"i{k}\tC0000101\n" for k in range(items)))
    ids = [f"i{k}" for k in range(items)]
    side = write_sidecar(run, ids, np.zeros((items, labels), np.float32), [f"C{k:07d}" for k in range(labels)])
    return run, side


def test_a_sidecar_is_checked_from_its_headers_before_loading(tmp_path: Path, peak_memory: Callable[[], int]) -> None:
    run, side = _sidecar(tmp_path, 1500, 1500)  # 9 MB of float32 zeros in a file of a few KB
    assert side.stat().st_size < 200_000
    tracemalloc.reset_peak()
    expected = r"more than 1,000,000 bytes once loaded \(array 'scores': \(1500, 1500\) float32\), the cap on a sidecar"
    with pytest.raises(FormatError, match=expected + ": raise it with --max-sidecar-bytes"):
        read_sidecar(side, run, max_bytes=1_000_000)
    assert peak_memory() < 1 << 20  # refused from the headers: nothing decompressed
    assert read_sidecar(side, run).scores.shape == (1500, 1500)  # the default cap (1 GiB) takes it


def _rewrite(side: Path, name: str, array_header: dict, data: bytes) -> None:
    """Replaces one array of an .npz by a hand-made .npy (a forged header)."""
    with zipfile.ZipFile(side) as archive:
        members = {m: archive.read(m) for m in archive.namelist()}
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, array_header)
    members[f"{name}.npy"] = out.getvalue() + data
    with zipfile.ZipFile(side, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)


@pytest.mark.parametrize(
    ("name", "header", "data", "expected"),
    [
        (
            "scores",
            {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000)},
            b"\x00" * 64,
            r"array 'scores': its header claims \(100000, 100000\) float32 \(40,000,000,000 bytes\), its data hold 64",
        ),
        ("scores", {"descr": "|O", "fortran_order": False, "shape": (2, 2)}, b"", "holds Python objects"),
        ("scores", {"descr": "<i8", "fortran_order": False, "shape": (2, 3)}, b"\x00" * 48, "expected a float matrix"),
        ("ids", {"descr": "<f4", "fortran_order": False, "shape": (2,)}, b"\x00" * 8, "must be 1-D arrays of text"),
    ],
)
def test_a_forged_sidecar_header_is_refused(
    tmp_path: Path, name: str, header: dict, data: bytes, expected: str
) -> None:
    run, side = _sidecar(tmp_path, 2, 3)
    _rewrite(side, name, header, data)
    with pytest.raises(FormatError, match=expected):
        read_sidecar(side, run)


# ---- draw ----------------------------------------------------------------------------------------------------


def test_a_one_megabyte_caption_draws_a_panel_of_a_few_lines(peak_memory: Callable[[], int]) -> None:
    tracemalloc.reset_peak()
    picture = beside(Image.new("RGB", (384, 300)), [Line("predicted", heading=True), Line("word " * 200_000)])
    assert picture.size == (824, 1000) or picture.height < 1500  # the old code: 824 x 350,076
    assert peak_memory() < 200 << 20
    many = beside(Image.new("RGB", (384, 300)), [Line(f"concept {k}") for k in range(5000)])
    assert many.height < 1500
