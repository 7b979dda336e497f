"""`baselines train|predict`: help and config errors before torch and Lightning load (baselines.preflight)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.utils import get_object

import baselines.preflight as preflight
from baselines.checkpoints import KNOWN_TARGETS
from baselines.cli import main

# Runs the CLI in a fresh interpreter and says, after it, whether torch was imported.
_RUN = (
    "import sys\n"
    "from baselines.cli import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "except SystemExit as exc:\n"
    "    code = exc.code or 0\n"
    "print('torch imported:', 'torch' in sys.modules, 'lightning imported:', 'lightning' in sys.modules)\n"
    "sys.exit(code)\n"
)


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _RUN, *argv], capture_output=True, text=True, timeout=120, check=False)


def test_trainer_parameters_are_lightnings() -> None:
    from lightning.pytorch import Trainer

    assert list(preflight.TRAINER_PARAMETERS) == list(inspect.signature(Trainer).parameters)


@pytest.mark.parametrize("target", sorted(t for t in KNOWN_TARGETS if t.startswith("baselines.")))
def test_parameters_read_from_source_are_the_signatures(target: str) -> None:
    # read with ast, without importing the module (it imports torch): checked here against the imported object
    names, required = preflight._parameters(target)
    signature = inspect.signature(get_object(target))
    plain = {n: p for n, p in signature.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    assert names == list(plain)
    assert required == {n for n, p in plain.items() if p.default is p.empty}


def test_a_misspelt_trainer_key_says_did_you_mean_before_torch_loads() -> None:
    result = _cli("train", "experiment=spll", "trainer.max_epoch=1")
    assert result.returncode == 2
    assert "Did you mean trainer.max_epochs=1?" in result.stderr
    assert "+trainer.max_epoch" not in result.stderr  # Hydra's advice, the wrong fix
    assert "torch imported: False lightning imported: False" in result.stdout


@pytest.mark.parametrize("command", ["train", "predict"])
def test_help_is_the_commands_own_and_loads_no_torch(command: str) -> None:
    result = _cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"baselines {command} [key=value ...]")
    assert "powered by Hydra" not in result.stdout
    assert "experiment: caption, concepts" in result.stdout  # the config groups are listed
    assert "torch imported: False lightning imported: False" in result.stdout


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("max_epochs=1", "Did you mean trainer.max_epochs=1"),  # a trainer key given without its node
        (
            "model.net.hiden=3",
            "no such key in model.net (baselines.models.nets.regressors.mlp). Did you mean model.net.hidden=3?",
        ),
        ("trainer=gpuu", "no config trainer=gpuu. Did you mean trainer=gpu?"),
        ("trainer.limit_train_batches=2", "add it with +trainer.limit_train_batches=2"),  # Trainer's, not in the node
        ("data.foo=1", "no such key in data (baselines.data.tabular.TabularDataModule) (its keys: loader, predict_"),
        (
            "data.loader.batch_sise=4",
            "no such key in data.loader (baselines.data.base.Loader). Did you mean data.loader.batch_size=4?",
        ),
    ],
)
def test_config_errors_name_the_fix(override: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "experiment=spll", override]) == 2
    assert expected in capsys.readouterr().err


def test_a_forgotten_experiment_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "trainer=cpu"]) == 2
    assert "no task: give experiment=<name> (caption, concepts, coral_boxes" in capsys.readouterr().err


def test_missing_data_paths_are_listed_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "experiment=spll", f"paths.root_dir={tmp_path}", f"hydra.run.dir={out}"]) == 2
    err = capsys.readouterr().err
    data = tmp_path / "data" / "spll"
    for key, path in [
        ("train_features", "train/features.csv"),
        ("train_targets", "train/targets.csv"),
        ("predict_features", "test/features.csv"),
    ]:
        assert f"data.{key}: {data / path} does not exist" in err
    assert "paths.data_dir=" in err
    assert not out.exists()  # Hydra never started: no run folder


def test_a_prediction_does_not_need_the_training_files(spll_root: Path, tmp_path: Path) -> None:
    cfg = ["experiment=spll", f"paths.root_dir={spll_root}", "allow_untrained=true", "train=false"]
    (spll_root / "data" / "spll" / "train" / "features.csv").rename(tmp_path / "features.csv")
    try:
        preflight.check("train", cfg)  # train_* are required only when training
        with pytest.raises(preflight.ConfigError, match=r"data\.train_features"):
            preflight.check("train", [*cfg[:-1], "train=true"])
    finally:
        (tmp_path / "features.csv").rename(spll_root / "data" / "spll" / "train" / "features.csv")


def test_gpu_trainer_without_a_gpu_suggests_cpu(
    spll_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(preflight, "gpu_present", lambda: False)
    assert main(["train", "experiment=spll", "trainer=gpu", f"paths.root_dir={spll_root}"]) == 2
    err = capsys.readouterr().err
    assert "trainer.accelerator=gpu, but this machine has no GPU" in err and "trainer=cpu" in err
    monkeypatch.setattr(preflight, "gpu_present", lambda: True)
    preflight.check("train", ["experiment=spll", "trainer=gpu", f"paths.root_dir={spll_root}"])


def test_gpu_present_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert preflight.gpu_present() is False


def test_another_tasks_ground_truth_is_refused_before_training(tmp_path: Path) -> None:
    truth = tmp_path / "qa.txt"
    truth.write_text("synpic1|what is abnormal in the ct scan?|pulmonary embolism\nsynpic2|is this normal?|no\n")
    vqg = ["experiment=vqg", f"paths.root_dir={tmp_path}", "train=false", f"evaluation.ground_truth={truth}"]
    with pytest.raises(preflight.ConfigError, match="read as vqa ground truth"):
        preflight.check("train", vqg)


def test_cfg_is_printed_by_hydra_without_the_pipeline() -> None:
    result = _cli("train", "--cfg", "job", "experiment=spll")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("task: spll\n")
    assert "torch imported: False lightning imported: False" in result.stdout


def test_help_shows_the_config_its_overrides_compose(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "experiment=vqa", "--help"]) == 0
    assert "\ntask: vqa\n" in capsys.readouterr().out


def test_a_sweep_is_left_to_hydras_sweeper() -> None:
    # under hparams_search the config sets a multirun: `seed=1,2` sweeps without -m, and each job composes alone
    preflight.check("train", ["experiment=spll", "hparams_search=spll", "seed=1,2"])


def test_a_demo_config_without_its_synthetic_data_says_how_to_make_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `+demo=<task>` only composes the generator's settings (docs/extending.md trains with it): the hint
    # to point paths.data_dir at the official files sent a participant looking for a release they need not have
    out = tmp_path / "run"
    argv = ["experiment=spll", "+demo=spll", f"paths.root_dir={tmp_path}", f"hydra.run.dir={out}"]
    assert main(["train", *argv]) == 2
    assert "`baselines demo --tasks spll` writes them under demo_out/data" in capsys.readouterr().err
    assert not out.exists()


def test_a_prediction_without_a_checkpoint_is_refused_before_the_run_folder_is_made(
    spll_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # it was refused inside hydra.main: a traceback, exit status 1 and a train.log in the new run folder
    out = tmp_path / "run"
    assert main(["predict", "experiment=spll", f"paths.root_dir={spll_root}", f"hydra.run.dir={out}"]) == 2
    assert capsys.readouterr().err == f"error: {preflight.UNTRAINED}\n"
    assert not out.exists()
