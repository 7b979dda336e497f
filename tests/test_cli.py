"""The `baselines` command line outside the pipeline: grammar-only validation, light imports, missing extras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from baselines.cli import main
from tasks import KITS

DRAWNUI_RUN = "a.jpg;button 0.9:10x10+0+0\nb.jpg;\n"


def test_validate_without_a_reference_checks_the_grammar_and_says_what_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_file = tmp_path / "run.txt"
    run_file.write_text(DRAWNUI_RUN)
    assert main(["validate", "--task", "drawnui", str(run_file)]) == 0
    out = capsys.readouterr().out
    assert "valid drawnui run file" in out
    assert "not checked: ids against the test set, and one line per test item (give --images" in out


def test_validate_with_ground_truth_only_says_region_bounds_went_unchecked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_file = tmp_path / "run.txt"
    run_file.write_text(DRAWNUI_RUN)
    truth = tmp_path / "gt.csv"
    truth.write_text("a.jpg;button 1:10x10+0+0\nb.jpg;\n")
    assert main(["validate", "--task", "drawnui", str(run_file), "--gt", str(truth)]) == 0
    assert "not checked: regions inside their image" in capsys.readouterr().out


def test_grammar_errors_are_still_found_without_a_reference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_file = tmp_path / "run.txt"
    run_file.write_text("a.jpg;buton 0.9:10x10+0+0\n")
    assert main(["validate", "--task", "drawnui", str(run_file)]) == 2
    assert f"{run_file}:1: unknown class 'buton'" in capsys.readouterr().err


def test_evaluate_without_ground_truth_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_file = tmp_path / "run.txt"
    run_file.write_text(DRAWNUI_RUN)
    assert main(["evaluate", "--task", "drawnui", str(run_file)]) == 2
    assert "evaluate needs --gt" in capsys.readouterr().err


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("task", sorted(KITS))
def test_validate_and_evaluate_never_import_torch(task: str) -> None:
    # A text file is read and scored with NumPy, pycocotools and (for VQA-Med) NLTK: importing torch,
    # Lightning or transformers would cost 10-20 s of start-up (scripts/bench_cli.py).
    result = _python(
        "import sys\n"
        "from baselines.cli import main\n"
        f"main(['validate', '--task', {task!r}, 'missing.txt'])\n"
        "from baselines.tasks import get_task\n"
        f"spec = get_task({task!r})\n"
        "heavy = ('torch', 'lightning', 'transformers', 'albumentations', 'timm')\n"
        "heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "print('heavy:', heavy)\n"
    )
    assert "heavy: []" in result.stdout, result.stdout + result.stderr


def test_tasks_lists_every_task_without_the_optional_extras() -> None:
    # sacrebleu, nltk and scikit-learn belong to the [tasks] extra: they are imported only when scoring
    result = _python(
        "import sys\n"
        "for name in ('sacrebleu', 'nltk', 'sklearn'):\n"
        "    sys.modules[name] = None\n"
        "from baselines.cli import main\n"
        "sys.exit(main(['tasks']))\n"
    )
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == sorted(
        ["caption", "concepts", "coral_boxes", "coral_polygons", "drawnui", "lmrt", "spll", "tbct", "vqa", "vqg"]
    )


def test_a_task_module_that_cannot_import_is_reported_not_silently_dropped(tmp_path: Path) -> None:
    result = _python(
        "import sys\n"
        "sys.modules['baselines.io.formats.lifelog'] = None\n"  # as if a dependency of the module were missing
        "from baselines.cli import main\n"
        "code = main(['tasks'])\n"
        "from baselines.tasks import get_task\n"
        "try:\n"
        "    get_task('lmrt')\n"
        "except KeyError as exc:\n"
        "    print('KeyError:', exc)\n"
        "sys.exit(code)\n"
    )
    assert result.returncode == 1
    assert "unavailable: baselines.tasks.lifelog (ModuleNotFoundError" in result.stdout
    assert "KeyError: \"unknown task 'lmrt'" in result.stdout
    assert "pip install 'imageclef-baselines[tasks]'" in result.stdout


def test_format_warnings_are_printed_and_the_file_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from baselines.errors import ProblemCollector
    from baselines.tasks import get_task

    spec = get_task("drawnui")
    original = spec.validate

    def validate_and_warn(path, reference):  # a validator that notes something suspicious on line 1
        problems = ProblemCollector(path)
        problems.warn(1, "looks odd")
        problems.raise_if_any()
        return original(path, reference)

    monkeypatch.setattr(spec, "validate", validate_and_warn)
    run_file = tmp_path / "run.txt"
    run_file.write_text(DRAWNUI_RUN)
    assert main(["validate", "--task", "drawnui", str(run_file)]) == 0
    captured = capsys.readouterr()
    assert f"warning: {run_file}:1: looks odd" in captured.err
    assert "valid drawnui run file" in captured.out


@pytest.mark.parametrize(
    ("task", "text"),
    [
        ("drawnui", "a.jpg;button 2:10x10+0+0\na.jpg;button 0.5:1x1+0+0\nb.jpg;buton 0.9:1x1+0+0\n"),
        ("concepts", "img1\tC0000001;C0000001\nimg1\tC0000002\nimg2\tC0000003\textra\n"),
    ],
)
def test_validate_reports_what_parse_run_reports(tmp_path: Path, task: str, text: str) -> None:
    from baselines.errors import FormatError
    from baselines.tasks import get_task

    run_file = tmp_path / "run.txt"
    run_file.write_text(text)
    spec = get_task(task)
    with pytest.raises(FormatError) as parsed:
        spec.parse_run(run_file, None)
    with pytest.raises(FormatError) as validated:  # the streaming path that keeps nothing finds the same
        spec.validate(run_file, None)
    assert str(validated.value) == str(parsed.value) and len(parsed.value.problems) == 3


def test_validate_with_an_image_folder_holding_a_misnamed_entry_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = tmp_path / "test"
    images.mkdir()
    (images / "a.jpg").mkdir()  # a folder named like an image
    run_file = tmp_path / "run.txt"
    run_file.write_text("a.jpg;\n")
    assert main(["validate", "--task", "drawnui", str(run_file), "--images", str(images)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {images / 'a.jpg'}: a folder, not an image file")


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_top_level_help_lists_every_command(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    # compare's help says "95% intervals": argparse %-formats help strings, so it crashed `baselines --help`
    with pytest.raises(SystemExit) as exit_info:
        main([flag])
    assert exit_info.value.code == 0
    listed = capsys.readouterr().out
    assert "bootstrap 95% intervals" in listed
    assert all(name in listed for name in ("train", "predict", "validate", "evaluate", "compare", "ensemble", "draw"))
