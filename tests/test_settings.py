"""The shared settings nodes (issue 30): every data module takes one `Loader` (`data.loader`) and every
LightningModule one `Optim` (`model.optim`), composed from configs/data/loader/ and configs/model/optim/. The keys'
old spellings (`data.batch_size`, `model.optimizer.lr`) are read the new way on a command line and in a checkpoint's
record (tests/test_checkpoints.py); a config file that still sets them is refused by name."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

import baselines.preflight as preflight
from baselines.cli import main
from baselines.config import MOVED_KEYS, compose_config, config_dir, moved_override
from baselines.data.base import Loader
from baselines.data.tabular import TabularDataModule
from baselines.models.base import Optim

# What each experiment's real-data config gave its data module (batch size, workers, pin memory, persistent workers)
# and its model (optimizer, lr, weight decay, a scheduler or none) when each config still spelled them out
# (configs/ at 0132b88): moving them into the shared nodes changes no value. `drawnui+tv` is model=tv_detector.
BEFORE = {
    "caption": ((32, 8, True, True), ("AdamW", 5e-05, 0.01, True)),
    "concepts": ((32, 8, True, True), ("AdamW", 0.0003, 0.0001, True)),
    "coral_boxes": ((2, 4, True, True), ("AdamW", 0.0001, 0.0001, True)),
    "coral_polygons": ((2, 4, True, True), ("AdamW", 0.0003, 0.0001, True)),
    "drawnui": ((4, 4, True, True), ("AdamW", 0.0001, 0.0001, True)),
    "drawnui+tv": ((4, 4, True, True), ("SGD", 0.01, 0.0001, True)),
    "lmrt": ((256, 8, True, True), ("AdamW", 1e-05, 0.1, False)),
    "spll": ((16, 0, False, False), ("AdamW", 0.003, 0.001, False)),
    "tbct": ((4, 8, True, True), ("AdamW", 0.0003, 0.0001, True)),
    "vqa": ((32, 8, True, True), ("AdamW", 0.0001, 0.0001, True)),
    "vqg": ((32, 8, True, True), ("AdamW", 5e-05, 0.01, True)),
}


def _paths(tmp_path: Path) -> list[str]:
    return [f"paths.root_dir={tmp_path}", f"paths.output_dir={tmp_path}/out"]


def test_every_experiment_is_in_the_table() -> None:
    experiments = {p.stem for p in (config_dir() / "experiment").glob("*.yaml")}
    assert experiments == {name for name in BEFORE if "+" not in name}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_the_shared_nodes_give_every_experiment_its_old_values(name: str, tmp_path: Path) -> None:
    experiment, _, variant = name.partition("+")
    extra = ["model=tv_detector"] if variant == "tv" else []
    cfg = compose_config("train", [f"experiment={experiment}", *extra, *_paths(tmp_path)])
    loader, optim = instantiate(cfg.data.loader), instantiate(cfg.model.optim)
    assert isinstance(loader, Loader) and isinstance(optim, Optim)
    (batch, workers, pinned, persistent), (optimizer, lr, decay, scheduled) = BEFORE[name]
    assert (loader.batch_size, loader.num_workers, loader.pin_memory, loader.persistent_workers) == (
        batch,
        workers,
        pinned,
        persistent,
    )
    assert loader.predict_batch_size is None
    assert (
        optim.optimizer.func.__name__,
        optim.optimizer.keywords["lr"],
        optim.optimizer.keywords["weight_decay"],
    ) == (
        optimizer,
        lr,
        decay,
    )
    assert (optim.scheduler is not None) == scheduled
    # each module's own default before (val/map_50, val/mae, ...) was its experiment's monitor, now read from it
    assert optim.monitor == cfg.monitor
    assert (optim.scheduler_interval, optim.channels_last, optim.compile_model) == ("epoch", False, False)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("data.batch_size=4", "data.loader.batch_size=4"),
        ("data.predict_batch_size=64", "data.loader.predict_batch_size=64"),
        ("model.optimizer.lr=1e-3", "model.optim.optimizer.lr=1e-3"),
        ("model.scheduler=null", "model.optim.scheduler=null"),
        ("~model.scheduler", "~model.optim.scheduler"),
        ("+model.compile_model=true", "++model.optim.compile_model=true"),  # `+` was needed: the key was not there
        ("++data.num_workers=0", "++data.loader.num_workers=0"),
        ("data.batch_size=4,8", "data.loader.batch_size=4,8"),  # a sweep
        ("data.batch_sizes=4", "data.batch_sizes=4"),  # another key: as given
        ("data.loader.batch_size=4", "data.loader.batch_size=4"),
        ("model.optimizer_name=x", "model.optimizer_name=x"),
        ("experiment=spll", "experiment=spll"),
    ],
)
def test_old_spellings_are_read_the_new_way(old: str, new: str) -> None:
    assert moved_override(old) == new


def test_a_command_line_of_old_spellings_composes_what_the_new_one_does(tmp_path: Path) -> None:
    old = ["data.batch_size=4", "data.num_workers=2", "model.optimizer.lr=0.5", "model.scheduler=null"]
    new = [moved_override(o) for o in old]
    assert new != old
    composed = [compose_config("train", ["experiment=spll", *_paths(tmp_path), *o]) for o in (old, new)]
    assert OmegaConf.to_container(composed[0]) == OmegaConf.to_container(composed[1])
    assert composed[0].data.loader.batch_size == 4 and composed[0].model.optim.optimizer.lr == 0.5
    assert "batch_size" not in composed[0].data and "optimizer" not in composed[0].model
    compiled = compose_config("train", ["experiment=spll", *_paths(tmp_path), "+model.compile_model=true"])
    assert compiled.model.optim.compile_model is True


def test_a_config_file_that_sets_a_moved_key_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user's own experiment or demo file written before the move: named before torch loads, not refused by the
    data module as an unexpected argument."""
    tree = tmp_path / "configs"
    shutil.copytree(config_dir(), tree)
    (tree / "demo" / "mine.yaml").write_text(
        "# @package _global_\ndata:\n  batch_size: 4\nmodel:\n  optimizer:\n    lr: 0.1\n"
    )
    monkeypatch.setenv("BASELINES_CONFIG_DIR", str(tree))
    with pytest.raises(preflight.ConfigError) as error:
        preflight.check("train", ["experiment=spll", "+demo=mine", *_paths(tmp_path)])
    message = str(error.value)
    assert "data.batch_size is set by a config file, but that key is data.loader.batch_size now" in message
    assert "model.optimizer is set by a config file, but that key is model.optim.optimizer now" in message
    assert "(configs/data/loader/)" in message and "(configs/model/optim/)" in message
    assert main(["train", "experiment=spll", "+demo=mine", *_paths(tmp_path)]) == 2
    assert "data.loader.batch_size now" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_search_config_that_sweeps_a_moved_key_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweeper composes each trial itself: without this, every trial would fail on Hydra's "no such key"."""
    tree = tmp_path / "configs"
    shutil.copytree(config_dir(), tree)
    search = (tree / "hparams_search" / "spll.yaml").read_text()
    written_before = search.replace("data.loader.batch_size:", "data.batch_size:").replace(
        "model.optim.optimizer.lr:", "model.optimizer.lr:"
    )
    assert written_before != search
    (tree / "hparams_search" / "mine.yaml").write_text(written_before)
    monkeypatch.setenv("BASELINES_CONFIG_DIR", str(tree))
    messages = []
    for search_config in ("spll", "mine"):  # no data under tmp_path: both are refused, the project's for that only
        with pytest.raises(preflight.ConfigError) as error:
            preflight.check("train", ["experiment=spll", f"hparams_search={search_config}", *_paths(tmp_path)])
        messages.append(str(error.value))
    assert "does not exist" in messages[0] and "sweeps" not in messages[0]
    message = messages[1]
    assert "hydra.sweeper.params sweeps data.batch_size, but that key is data.loader.batch_size now" in message
    assert "hydra.sweeper.params sweeps model.optimizer.lr, but that key is model.optim.optimizer.lr now" in message


def test_every_moved_key_is_a_field_of_its_settings() -> None:
    fields = {"data.loader": set(Loader.__dataclass_fields__), "model.optim": set(Optim.__dataclass_fields__)}
    for old, new in MOVED_KEYS.items():
        node, _, key = new.rpartition(".")
        assert key in fields[node] and old.rpartition(".")[2] == key
    assert set().union(*fields.values()) == {new.rpartition(".")[2] for new in MOVED_KEYS.values()}


def test_a_data_module_serves_its_loader_settings() -> None:
    data = TabularDataModule(
        "x.csv", "y.csv", "z.csv", loader=Loader(batch_size=3, num_workers=2, persistent_workers=True)
    )
    assert (data.batch_size, data.predict_batch_size, data.num_workers, data.persistent_workers) == (3, 3, 2, True)
    inline = TabularDataModule("x.csv", "y.csv", "z.csv", loader=Loader(num_workers=0, persistent_workers=True))
    assert inline.persistent_workers is False  # only with workers
    assert TabularDataModule("x.csv", "y.csv", "z.csv", loader=Loader(predict_batch_size=64)).predict_batch_size == 64


def test_a_module_trains_with_its_optim_settings() -> None:
    from baselines.models.nets.regressors import mlp
    from baselines.models.tabular import TabularRegressionModule

    step = partial(torch.optim.lr_scheduler.StepLR, step_size=1)
    module = TabularRegressionModule(
        mlp(3, hidden=4), Optim(partial(torch.optim.SGD, lr=0.25), step, scheduler_interval="step", monitor="val/mae")
    )
    configured = module.configure_optimizers()
    assert isinstance(configured["optimizer"], torch.optim.SGD)
    assert configured["optimizer"].param_groups[0]["lr"] == 0.25
    assert configured["lr_scheduler"]["interval"] == "step" and configured["lr_scheduler"]["monitor"] == "val/mae"
    plain = TabularRegressionModule(mlp(3, hidden=4), Optim(partial(torch.optim.SGD, lr=0.25)))
    assert isinstance(plain.configure_optimizers(), torch.optim.SGD)
