"""`baselines draw`: what changes in a drawn picture, one picture per item for every task family, and
output names made from ids (child_path) that never leave --out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from baselines.cli import main
from baselines.io.formats.drawnui import DRAWNUI_CLASSES
from baselines.paths import child_path
from baselines.visual.render import class_colours
from baselines.visual.views import output_name

FIXTURES = Path(__file__).parent / "fixtures"


def _noise_png(path: Path, width: int = 400, height: int = 300) -> np.ndarray:
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def _draw(*args: str) -> int:
    return main(["draw", *args])


TOP = 50
"""Rows above a drawn region picture's panels: the item's id and the panel's title (25 pixels each)."""


def _panel(path: Path, k: int, width: int = 400, height: int = 300) -> np.ndarray:
    """The k-th panel of a region picture (0: ground truth when drawn, else the prediction), 8 pixels apart."""
    drawn = np.asarray(Image.open(path).convert("RGB"))
    return drawn[TOP : TOP + height, k * (width + 8) : k * (width + 8) + width]


def test_a_box_changes_the_picture_on_and_inside_the_box_only(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = _noise_png(tmp_path / "images" / "page.png")
    # box 200x120 at (100, 80): columns 100..299, rows 80..199; a second one below min-score is not drawn
    (tmp_path / "run.txt").write_text("page.png;button 0.9:200x120+100+80;label 0.1:50x30+10+10\n")
    assert _draw("--task", "drawnui", str(tmp_path / "run.txt"), "--images", str(tmp_path / "images"),
                 "--out", str(tmp_path / "out")) == 0  # fmt: skip
    assert "1 of 2 predicted regions are below --min-score 0.3 and not drawn" in capsys.readouterr().out
    drawn = _panel(tmp_path / "out" / "page.png", 0)
    changed = np.any(drawn != source, axis=2)
    inside = np.zeros_like(changed)
    inside[80:200, 100:300] = True
    assert changed.any() and not (changed & ~inside).any()  # nowhere outside the box
    edges = np.concatenate([changed[80, 100:300], changed[199, 100:300], changed[80:200, 100], changed[80:200, 299]])
    assert edges.all()  # the whole outline is drawn
    assert (drawn[199, 150] == class_colours(len(DRAWNUI_CLASSES))[DRAWNUI_CLASSES.index("button")]).all()
    assert not changed[150:190, 200:290].any()  # the middle of the box stays visible (tag at the top-left)


def test_draw_reports_how_many_predictions_its_threshold_hid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _noise_png(tmp_path / "images" / "page.png")
    _noise_png(tmp_path / "images" / "other.png")
    (tmp_path / "run.txt").write_text("page.png;button 0.2:20x20+1+1,0.25:20x20+40+40\nother.png;label 0.1:9x9+1+1\n")
    common = ("--task", "drawnui", str(tmp_path / "run.txt"), "--images", str(tmp_path / "images"))
    assert _draw(*common, "--out", str(tmp_path / "a")) == 0
    assert "3 of 3 predicted regions are below --min-score 0.3 and not drawn (--min-score 0 draws them all)" in (
        capsys.readouterr().out
    )
    assert _draw(*common, "--out", str(tmp_path / "b"), "--min-score", "0.22") == 0
    assert "2 of 3 predicted regions are below --min-score 0.22 and not drawn" in capsys.readouterr().out
    assert _draw(*common, "--out", str(tmp_path / "c"), "--min-score", "0") == 0
    assert "0 of 3 predicted regions are below --min-score 0 and not drawn\n" in capsys.readouterr().out


def test_ground_truth_and_prediction_are_drawn_side_by_side(tmp_path: Path) -> None:
    source = _noise_png(tmp_path / "images" / "page.png")
    (tmp_path / "run.txt").write_text("page.png;button 0.9:200x120+100+80\n")
    (tmp_path / "gt.txt").write_text("page.png;image 1:100x100+20+150\n")
    assert _draw("--task", "drawnui", str(tmp_path / "run.txt"), "--images", str(tmp_path / "images"),
                 "--out", str(tmp_path / "out"), "--gt", str(tmp_path / "gt.txt")) == 0  # fmt: skip
    colours = class_colours(len(DRAWNUI_CLASSES))
    truth, predicted = _panel(tmp_path / "out" / "page.png", 0), _panel(tmp_path / "out" / "page.png", 1)
    assert (truth[200, 20] == colours[DRAWNUI_CLASSES.index("image")]).all()
    assert (predicted[199, 200] == colours[DRAWNUI_CLASSES.index("button")]).all()
    inside = np.zeros(source.shape[:2], bool)
    inside[150:250, 20:120] = True
    assert not (np.any(truth != source, axis=2) & ~inside).any()
    inside[:] = False
    inside[80:200, 100:300] = True
    assert not (np.any(predicted != source, axis=2) & ~inside).any()


def test_polygons_are_filled_inside_their_box(tmp_path: Path) -> None:
    source = _noise_png(tmp_path / "images" / "reef.png")
    (tmp_path / "run.txt").write_text("reef;c_sponge 0.8:100+100+300+100+300+250+100+250\n")
    assert _draw("--task", "coral_polygons", str(tmp_path / "run.txt"), "--images", str(tmp_path / "images"),
                 "--out", str(tmp_path / "out")) == 0  # fmt: skip
    drawn = _panel(tmp_path / "out" / "reef.png", 0)
    changed = np.any(drawn != source, axis=2)
    assert changed[200, 250]  # filled, not only outlined
    inside = np.zeros_like(changed)
    inside[100:251, 100:301] = True
    assert not (changed & ~inside).any()


@pytest.mark.parametrize(
    ("task", "annotations"),
    [
        ("coral_boxes", "coral/annotations_boxes.txt"),
        ("coral_polygons", "coral/annotations_polygons.txt"),
        ("coral_boxes", "real/coral/coral2020_annotations_train_boxes_line11_negative_coord_crlf.txt"),
        ("coral_boxes", "real/coral/coral2020_annotations_train_boxes_lines1-3_crlf.txt"),
        ("coral_polygons", "real/coral/coral2020_annotations_train_polygons_line1_crlf.txt"),
    ],
)
def test_coral_training_annotations_are_drawn_by_the_tasks_ground_truth_reader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], task: str, annotations: str
) -> None:
    from baselines.io.formats.coral import read_coral_annotations

    path = FIXTURES / annotations
    regions, _ = read_coral_annotations(path, "box" if task == "coral_boxes" else "polygon")
    for stem in regions:
        _noise_png(tmp_path / "images" / f"{stem}.JPG", 240, 180)
    # the annotation file as a run file: refused by the run grammar, with the way to draw it
    assert _draw("--task", task, str(path), "--images", str(tmp_path / "images"), "--out", str(tmp_path / "x")) == 2
    hint = f"not a valid run file, but it reads as {task} ground truth: to draw it, give --gt {path} alone"
    assert hint in capsys.readouterr().err
    assert _draw("--task", task, "--gt", str(path), "--images", str(tmp_path / "images"),
                 "--out", str(tmp_path / "out")) == 0  # fmt: skip
    assert sorted(p.stem for p in (tmp_path / "out").iterdir()) == sorted(regions)
    assert f"{len(regions)} pictures in" in capsys.readouterr().out


def test_draw_without_a_run_file_needs_ground_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _draw("--task", "coral_boxes", "--images", str(tmp_path), "--out", str(tmp_path / "o")) == 2
    assert "draw --task coral_boxes: give --gt <ground truth> to draw" in capsys.readouterr().err
    assert _draw("--task", "vqa", "--gt", str(tmp_path / "x"), "--images", str(tmp_path), "--out", str(tmp_path)) == 2
    assert "draw --task vqa: give a run file to draw" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    ["..", "../outside.png", "../../outside.png", "a/b.png", "a\\b.png", "/etc/x.png", "C:x.png", "", "a..png"],
)
def test_child_path_refuses_names_that_leave_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="refusing id") as caught:
        child_path(tmp_path, name, "run.txt")
    assert "run.txt" in str(caught.value)


def test_child_path_keeps_plain_names(tmp_path: Path) -> None:
    assert child_path(tmp_path, "page 1.png") == tmp_path / "page 1.png"
    assert output_name("CTR_TST_001.nii.gz") == "CTR_TST_001.png"
    assert output_name("test_00001.jpg") == "test_00001.png"
    assert output_name("../../outside.png") == "../../outside.png"  # the suffix swap keeps what child_path refuses


def test_a_run_id_that_climbs_out_writes_nothing_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "a" / "b"
    _noise_png(work / "images" / "page.png")
    (work / "run.txt").write_text("page.png;button 0.9:20x20+1+1\n../../outside.png;button 0.9:20x20+1+1\n")
    before = sorted(tmp_path.rglob("*"))
    assert _draw("--task", "drawnui", str(work / "run.txt"), "--images", str(work / "images"),
                 "--out", str(work / "out")) == 2  # fmt: skip
    message = capsys.readouterr().err
    assert "'../../outside.png'" in message and "run.txt" in message
    assert sorted(tmp_path.rglob("*")) == before  # not even page.png: ids are checked before drawing


def test_items_without_an_image_stop_before_anything_is_drawn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _noise_png(tmp_path / "images" / "page.png")
    (tmp_path / "run.txt").write_text("page.png;button 0.9:20x20+1+1\nother.png;button 0.9:20x20+1+1\n")
    args = ("--task", "drawnui", str(tmp_path / "run.txt"), "--images", str(tmp_path / "images"))
    assert _draw(*args, "--out", str(tmp_path / "out")) == 2
    assert "no file for 1 of the run's items: other.png" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_existing_pictures_are_kept_unless_overwrite(tmp_path: Path) -> None:
    _noise_png(tmp_path / "images" / "page.png")
    (tmp_path / "run.txt").write_text("page.png;button 0.9:20x20+1+1\n")
    args = (
        "--task",
        "drawnui",
        str(tmp_path / "run.txt"),
        "--images",
        str(tmp_path / "images"),
        "--out",
        str(tmp_path),
    )
    (tmp_path / "page.png").write_bytes(b"mine")
    assert _draw(*args) == 2 and (tmp_path / "page.png").read_bytes() == b"mine"
    assert _draw(*args, "--overwrite") == 0 and Image.open(tmp_path / "page.png").width == 400


def test_spll_has_nothing_to_draw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run.csv").write_text("p1,0.5\n")
    assert _draw("--task", "spll", str(tmp_path / "run.csv"), "--images", str(tmp_path), "--out", str(tmp_path)) == 2
    assert "no pictures" in capsys.readouterr().err


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from baselines.synthetic import lifelog, medcaption, tuberculosis, vqamed

    root = tmp_path_factory.mktemp("visual")
    medcaption.generate(root / "m", n_train=2, n_test=2)
    vqamed.generate(root / "v", n_train=2, n_test=2)
    lifelog.generate(root / "l", n_events=6)
    tuberculosis.generate(root / "t", n_train=1, n_test=2, size=32)
    return root


def _pictures(folder: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for path in sorted(folder.iterdir()):
        with Image.open(path) as image:
            image.verify()
            found[path.name] = image.size
    return found


@pytest.mark.parametrize("task", ["concepts", "caption", "vqa", "vqg"])
def test_text_tasks_draw_the_image_with_the_text_beside_it(synthetic: Path, tmp_path: Path, task: str) -> None:
    from baselines.synthetic.vqamed import TEST_ANSWERS, VQA_SETS

    test_set, questions, test_images = VQA_SETS["test"]
    images, truth = {
        "concepts": ("m/test/images", "m/test/concepts.txt"),
        "caption": ("m/test/images", "m/test/captions.txt"),
        "vqa": (f"v/{test_set}/{test_images}", f"v/{TEST_ANSWERS}"),
        "vqg": ("v/vqg/test/images", "v/vqg/test/questions.txt"),
    }[task]
    gt = synthetic / truth
    run = tmp_path / "run.txt"
    run.write_text(gt.read_text())  # a perfect run: the reference in run-file form
    if task == "vqg":  # the reference has a line per question, a run a line per image
        grouped: dict[str, list[str]] = {}
        for line in gt.read_text().splitlines():
            grouped.setdefault(line.split("|")[0], []).append(line.split("|")[1])
        run.write_text("".join("|".join([image, *questions]) + "\n" for image, questions in grouped.items()))
    extra = ["--questions", str(synthetic / "v" / test_set / questions)] if task == "vqa" else []
    assert _draw("--task", task, str(run), "--images", str(synthetic / images),
                 "--gt", str(gt), "--out", str(tmp_path / "out"), *extra) == 0  # fmt: skip
    sizes = _pictures(tmp_path / "out")
    assert len(sizes) == 2 and all(width > 384 for width, _ in sizes.values())  # image plus the text panel


def test_lmrt_draws_a_contact_sheet_per_topic(synthetic: Path, tmp_path: Path) -> None:
    from baselines.synthetic import lifelog

    gt = synthetic / "l" / lifelog.DEV_GT
    truth = [line.split(", ") for line in gt.read_text().splitlines()]
    run = tmp_path / "run.csv"
    run.write_text("".join(f"{topic},{image},{1 - k / 100:.2f}\n" for k, (topic, image, _) in enumerate(truth)))
    assert _draw("--task", "lmrt", str(run), "--images", str(synthetic / "l" / lifelog.IMAGES),
                 "--gt", str(gt), "--out", str(tmp_path / "out")) == 0  # fmt: skip
    assert set(_pictures(tmp_path / "out")) == {f"{topic}.png" for topic, _, _ in truth}


def test_tb_draws_a_slice_montage_per_ct(synthetic: Path, tmp_path: Path) -> None:
    from baselines.synthetic.tuberculosis import CTS, LABEL_CSV, MASKS1

    gt, cts, masks1 = (synthetic / "t" / pattern.format(tag="TST") for pattern in (LABEL_CSV, CTS, MASKS1))
    labels = gt.read_text().splitlines()[1:]
    run = tmp_path / "run.csv"
    run.write_text("".join(line.split(",")[0] + ",0.2,0.8,0.5,0.5,0.1,0.9\n" for line in labels))
    for masks in ([], ["--masks", str(masks1)]):
        out = tmp_path / f"out{len(masks)}"
        assert _draw("--task", "tbct", str(run), "--images", str(cts), "--gt", str(gt), "--out", str(out),
                     *masks) == 0  # fmt: skip
        assert set(_pictures(out)) == {"CTR_TST_001.png", "CTR_TST_002.png"}


def test_the_result_commands_never_import_torch(tmp_path: Path) -> None:
    """draw, evaluate --plots, compare and export-coco read text and images: no torch start-up cost."""
    import subprocess
    import sys

    _noise_png(tmp_path / "images" / "page.png")
    (tmp_path / "run.txt").write_text("page.png;button 0.9:200x120+100+80\n")
    (tmp_path / "gt.txt").write_text("page.png;button 1:200x100+100+80\n")
    common = f"'--task', 'drawnui', {str(tmp_path / 'run.txt')!r}"
    reference = f"'--gt', {str(tmp_path / 'gt.txt')!r}, '--images', {str(tmp_path / 'images')!r}"
    code = (
        "import sys\n"
        "from baselines.cli import main\n"
        f"assert main(['draw', {common}, {reference}, '--out', {str(tmp_path / 'out')!r}]) == 0\n"
        f"assert main(['evaluate', {common}, {reference}, '--plots', {str(tmp_path / 'plots')!r}]) == 0\n"
        f"assert main(['compare', {common}, {reference}, '--resamples', '5']) == 0\n"
        f"assert main(['export-coco', {common}, '--images', {str(tmp_path / 'images')!r}, '-o', "
        f"{str(tmp_path / 'r.json')!r}]) == 0\n"
        "heavy = ('torch', 'lightning', 'transformers', 'albumentations', 'timm')\n"
        "print('heavy:', sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert "heavy: []" in result.stdout, result.stdout + result.stderr


def _tb_case(root: Path, ct: np.ndarray, mask: np.ndarray, affine: np.ndarray) -> Path:
    import nibabel as nib

    for folder, array in (("ct", ct), ("masks", mask)):
        (root / folder).mkdir(parents=True)
        nib.save(nib.Nifti1Image(np.ascontiguousarray(array), affine), str(root / folder / "CTR_TST_001.nii.gz"))
    return root


def test_tb_lungs_are_told_apart_by_the_affine_as_in_training(tmp_path: Path) -> None:
    # One body (RAS: axis 0 from the patient's left to right), drawn from three copies: mask 1 = left lung;
    # the same with the mask values swapped (1 = the right lung, by the affine); and stored LAS (voxels
    # flipped, affine saying so). Each lung must be drawn, labelled and given its probabilities the same way.
    ct = np.random.default_rng(2).integers(-1000, 400, (14, 9, 7)).astype(np.int16)
    mask = np.zeros(ct.shape, np.uint8)
    mask[1:5, 1:7, 1:6], mask[8:13, 2:8, 0:7] = 1, 2
    swapped = np.where(mask == 0, 0, 3 - mask).astype(np.uint8)
    ras = np.diag([0.8, 0.8, 2.0, 1.0])
    las = ras.copy()
    las[0, 0], las[0, 3] = -0.8, 0.8 * (ct.shape[0] - 1)
    run = tmp_path / "run.csv"
    run.write_text("CTR_TST_001.nii.gz,0.2,0.8,0.5,0.5,0.1,0.9\n")
    cases = {
        "reference": _tb_case(tmp_path / "reference", ct, mask, ras),
        "1 = right": _tb_case(tmp_path / "swapped", ct, swapped, ras),
        "stored LAS": _tb_case(tmp_path / "las", ct[::-1], mask[::-1], las),
    }
    pictures = {}
    for name, root in cases.items():
        for masks in ([], ["--masks", str(root / "masks")]):
            out = root / f"out{len(masks)}"
            assert _draw("--task", "tbct", str(run), "--images", str(root / "ct"), "--out", str(out), *masks) == 0
            pictures[name, bool(masks)] = np.asarray(Image.open(out / "CTR_TST_001.png").convert("RGB"))
    for with_masks in (True, False):
        reference = pictures["reference", with_masks]
        for name in cases:
            if name != "1 = right" or with_masks:  # without masks the values play no part
                np.testing.assert_array_equal(pictures[name, with_masks], reference, err_msg=f"{name} {with_masks}")


def test_tb_a_mask_whose_value_1_is_the_right_lung_draws_it_as_the_right_lung(tmp_path: Path) -> None:
    ct = np.full((40, 10, 8), 400, np.int16)  # white, but for the patient's left lung (low RAS x): black
    mask = np.zeros(ct.shape, np.uint8)
    mask[2:8, 2:8, 1:7], mask[28:36, 1:9, 1:7] = 2, 1  # 1 = the right lung
    ct[mask == 2] = -1000
    root = _tb_case(tmp_path, ct, mask, np.diag([0.8, 0.8, 2.0, 1.0]))
    (tmp_path / "run.csv").write_text("CTR_TST_001.nii.gz,0.2,0.8,0.5,0.5,0.1,0.9\n")
    assert _draw("--task", "tbct", str(tmp_path / "run.csv"), "--images", str(root / "ct"), "--masks",
                 str(root / "masks"), "--out", str(tmp_path / "out")) == 0  # fmt: skip
    picture = np.asarray(Image.open(tmp_path / "out" / "CTR_TST_001.png").convert("L"))
    black = picture == 0
    half = picture.shape[0] // 2  # the left lung's slices come first (upper half), the right lung's below
    assert black[:half].sum() > 1000 and black[half:].sum() == 0
