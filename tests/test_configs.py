"""Every config composes, and every experiment instantiates its data module and model."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from baselines.config import compose_config, config_dir
from baselines.tasks import get_task

EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))
DEMOS = sorted(p.stem for p in (config_dir() / "demo").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (config_dir() / "trainer").glob("*.yaml"))
TRACKER_EXTRAS = ("wandb", "mlflow")


def _overrides(tmp_path: Path) -> list[str]:
    return [f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}/out"]


def test_every_experiment_has_a_demo() -> None:
    assert EXPERIMENTS == DEMOS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_resolves(name: str, tmp_path: Path) -> None:
    cfg = compose_config("train", [f"experiment={name}", *_overrides(tmp_path)])
    OmegaConf.resolve(cfg)
    get_task(cfg.task)
    assert cfg.monitor
    assert cfg.callbacks.run_file_writer.output_path


@pytest.mark.parametrize("name", DEMOS)
def test_demo_instantiates_data_and_model(name: str, tmp_path: Path) -> None:
    # the demo configs use random init, so this builds every network without any download
    cfg = compose_config("train", [f"experiment={name}", f"+demo={name}", *_overrides(tmp_path)])
    assert cfg.synthetic._target_
    for key in ("n_train", "n_test"):  # a tiny set: some models need files it writes (a tokenizer)
        if key in cfg.synthetic:
            cfg.synthetic[key] = 2
    instantiate(cfg.synthetic)
    instantiate(cfg.data)
    instantiate(cfg.model)


@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.parametrize("entry", ["train", "predict"])
def test_trainer_configs_compose(trainer: str, entry: str, tmp_path: Path) -> None:
    cfg = compose_config(entry, ["experiment=drawnui", f"trainer={trainer}", "ckpt_path=x.ckpt", *_overrides(tmp_path)])
    assert cfg.trainer._target_ == "lightning.pytorch.Trainer"


@pytest.mark.parametrize("debug", sorted(p.stem for p in (config_dir() / "debug").glob("*.yaml")))
@pytest.mark.parametrize("logger", sorted(p.stem for p in (config_dir() / "logger").glob("*.yaml")))
def test_debug_and_logger_configs_instantiate(
    debug: str, logger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if logger in TRACKER_EXTRAS:  # the `trackers` extra: W&B, MLflow
        pytest.importorskip(logger, reason=f"logger={logger} needs the trackers extra (pip install '.[trackers]')")
    cfg = compose_config("train", ["experiment=drawnui", f"debug={debug}", f"logger={logger}", *_overrides(tmp_path)])
    # what `baselines train` sets from hydra.job.env_set (logger=mlflow), which a composed config skips
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    instantiate(cfg.trainer)
    for node in cfg.logger.values():
        instantiate(node)


def test_compile_keeps_state_dict_keys(tmp_path: Path) -> None:
    cfg = compose_config(
        "train", ["experiment=spll", "+demo=spll", *_overrides(tmp_path), "model.optim.compile_model=true"]
    )
    module = instantiate(cfg.model)
    keys = set(module.state_dict())
    module.setup("fit")  # compiles in place (lazily: nothing is traced until the first call)
    assert set(module.state_dict()) == keys
