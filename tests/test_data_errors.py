"""Data errors: two images with one id are refused, and train/predict report every missing or unreadable file
in one message (exit 2), not a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from hydra.utils import instantiate

from baselines.cli import main
from baselines.data.coral import read_coral_records
from baselines.data.detection import unlabeled_records
from baselines.errors import DataError, FormatError
from baselines.io.images import find_images_by_stem, images_by_id
from baselines.runfiles.writer import RunFileWriter
from conftest import TINY_DRAWNUI

JPEG = Path(__file__).parent / "fixtures" / "real_images" / "radiology" / "synpic18201.jpg"


def _same_stem(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    first, second = folder / "X.JPG", folder / "X.png"
    shutil.copy(JPEG, first)
    shutil.copy(JPEG, second)  # a JPEG named .png, as some released sets have
    return first, second


def test_two_files_with_one_stem_are_refused_naming_both(tmp_path: Path) -> None:
    first, second = _same_stem(tmp_path / "test")
    shutil.copy(JPEG, tmp_path / "test" / "Y.jpg")
    for listing in (
        lambda: images_by_id(tmp_path / "test", "stem"),
        lambda: unlabeled_records(tmp_path / "test", "stem"),  # the coral test set
        lambda: find_images_by_stem(tmp_path),  # VQA-Med, caption: any subfolder
    ):
        with pytest.raises(FormatError) as info:
            listing()
        assert str(info.value) == f"{second}: image id 'X' also at {first}: rename or remove one"
    # where ids are file names (drawnUI), they differ
    assert list(images_by_id(tmp_path / "test", "name")) == ["X.JPG", "X.png", "Y.jpg"]


def test_coral_training_images_with_one_stem_are_refused(tmp_path: Path) -> None:
    first, second = _same_stem(tmp_path / "train")
    annotations = tmp_path / "boxes.txt"
    annotations.write_text("X 0 c_soft_coral 1 10 20 30 5\n")
    with pytest.raises(FormatError, match=rf"{second}: image id 'X' also at {first}"):
        read_coral_records(annotations, tmp_path / "train")


def test_the_coral_pipeline_refuses_a_test_folder_with_two_files_of_one_stem(demo_cfg) -> None:  # type: ignore[no-untyped-def]
    cfg = demo_cfg("coral_boxes", "synthetic.n_train=6", "synthetic.n_test=3")
    instantiate(cfg.synthetic)
    image = sorted(Path(cfg.data.predict_images).iterdir())[0]
    twin = image.with_suffix(".png" if image.suffix.lower() != ".png" else ".jpg")
    shutil.copy(image, twin)
    with pytest.raises(FormatError, match=rf"image id '{image.stem}' also at"):
        instantiate(cfg.data).dataset("predict")


def test_the_run_file_writer_refuses_two_predictions_with_one_id(tmp_path: Path) -> None:
    writer = RunFileWriter(str(tmp_path / "run.txt"))
    writer.prepare(lambda predictions: "".join(f"{p['id']}\n" for p in predictions), {})
    predictions = [[{"id": "X", "index": 0}, {"id": "Y", "index": 1}], [{"id": "X", "index": 2}]]
    trainer = SimpleNamespace(is_global_zero=True)
    with pytest.raises(ValueError, match=r"1 id\(s\) predicted more than once.*'X' at dataset positions \[0, 2\]"):
        writer.write_on_epoch_end(trainer, None, predictions, [])  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())  # nothing staged, nothing written


@pytest.fixture
def broken_drawnui(drawnui_root: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    """A copy of the tiny drawnUI set with two training images missing, one truncated and one test image that
    is not an image at all."""
    root = tmp_path / "copy"
    shutil.copytree(drawnui_root / "data", root / "data")
    train = sorted((root / "data" / "drawnui").rglob("train*.jpg"))
    test = sorted((root / "data" / "drawnui").rglob("test*.jpg"))
    train[0].unlink()
    train[1].unlink()
    train[2].write_bytes(train[2].read_bytes()[: train[2].stat().st_size * 2 // 3])
    test[0].write_bytes(b"not an image")
    return root, [train[0], train[1], train[2], test[0]]


def _train(root: Path, tmp_path: Path) -> list[str]:
    return [
        "train",
        "experiment=drawnui",
        "+demo=drawnui",
        f"paths.root_dir={root}",
        f"hydra.run.dir={tmp_path}/run",
        *TINY_DRAWNUI,
    ]


def test_train_lists_every_missing_and_unreadable_file_in_one_message(
    broken_drawnui: tuple[Path, list[Path]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, broken = broken_drawnui
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as info:
        main(_train(root, tmp_path))
    assert info.value.code == 2
    printed = capsys.readouterr().err
    assert "Traceback" not in printed
    assert printed.startswith("error: ")
    for path, reason in zip(broken, ("file not found", "file not found", "truncated", "cannot"), strict=True):
        assert f"{path}: {reason}" in printed, printed
    assert not (tmp_path / "run" / "checkpoints").exists()

    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # the traceback, for a bug report
    with pytest.raises(SystemExit):
        main(_train(root, tmp_path))
    printed = capsys.readouterr().err
    assert "Traceback" in printed and f"{broken[0]}: file not found" in printed


@pytest.mark.parametrize("command", ["validate", "draw"])
def test_validate_and_draw_refuse_a_folder_with_two_files_of_one_stem(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _same_stem(tmp_path / "test")
    run_file = tmp_path / "run.txt"
    run_file.write_text("X;c_soft_coral 0.9:10x10+1+1\n")
    extra = ["--out", str(tmp_path / "pictures")] if command == "draw" else []
    assert main([command, "--task", "coral_boxes", str(run_file), "--images", str(tmp_path / "test"), *extra]) == 2
    assert f"{second}: image id 'X' also at {first}" in capsys.readouterr().err
    assert not (tmp_path / "pictures").exists()


def test_a_predict_split_with_one_id_twice_is_refused_before_training(demo_cfg) -> None:  # type: ignore[no-untyped-def]
    cfg = demo_cfg("coral_boxes", "synthetic.n_train=6", "synthetic.n_test=3")
    instantiate(cfg.synthetic)
    datamodule = instantiate(cfg.data)
    dataset = datamodule.dataset("predict")
    dataset.records.append(dataset.records[0])  # as a listing without the id check would have made it
    with pytest.raises(DataError, match=rf"1 id\(s\) more than once in the predict split.*\n'{dataset.ids[0]}'"):
        datamodule.prediction_set()
