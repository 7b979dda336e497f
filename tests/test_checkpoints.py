"""Checkpoints on the real user's path: self-describing, refused when they cannot be right, never trusted blindly."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from baselines.checkpoints import (
    KNOWN_TARGETS,
    RECORD_KEY,
    CheckpointError,
    check_composed_targets,
    load_checkpoint,
    read_record,
    record_overrides,
    with_checkpoint_overrides,
)
from baselines.cli import main
from baselines.config import compose_config, config_dir
from baselines.pipeline import run
from baselines.runfiles.provenance import provenance_path
from tasks import KITS

Compose = Callable[..., DictConfig]
SPLL = (*KITS["spll"].tiny, "trainer.max_epochs=2")


@pytest.fixture
def spll_checkpoint(demo_cfg: Compose, tmp_path: Path) -> tuple[dict, list[str]]:
    overrides = ["experiment=spll", "+demo=spll", f"paths.root_dir={tmp_path}", *SPLL]
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    summary = run(demo_cfg("spll", *SPLL, output="train"), overrides)
    return summary, overrides


def test_checkpoint_records_task_overrides_and_config(spll_checkpoint: tuple[dict, list[str]]) -> None:
    summary, overrides = spll_checkpoint
    record = read_record(summary["checkpoint"])
    assert record is not None
    assert record["task"] == "spll"
    # what a prediction replays, and apart, never replayed, the run's own paths
    assert record["overrides"] == [o for o in overrides if not o.startswith("paths.")]
    assert record["run_overrides"] == [o for o in overrides if o.startswith("paths.")]
    assert record["config"]["model"]["net"]["hidden"] == 32


def test_predict_with_only_a_checkpoint_reproduces_the_run_file(
    spll_checkpoint: tuple[dict, list[str]], tmp_path: Path
) -> None:
    summary, _ = spll_checkpoint
    out = tmp_path / "predicted"
    # where the data are is the user's to say: a checkpoint's paths are never replayed (docs/security.md)
    root = f"paths.root_dir={tmp_path}"
    argv = [f"ckpt_path={summary['checkpoint']}", root, f"paths.output_dir={out}", f"hydra.run.dir={out}"]
    code = main(["predict", *argv])
    assert code == 0
    predicted = out / "runs" / "spll.csv"
    assert predicted.read_bytes() == Path(summary["run_file"]).read_bytes()
    record = json.loads(provenance_path(predicted).read_text())
    assert record["checkpoint"] == summary["checkpoint"] and record["untrained"] is False


def test_a_checkpoint_recording_a_moved_network_still_predicts(
    spll_checkpoint: tuple[dict, list[str]], tmp_path: Path
) -> None:
    """The network builders moved to baselines.models.nets (issue 30): a checkpoint saved before records the old
    `_target_` in its config, which is only a record: its overrides are replayed on today's configs."""
    summary, _ = spll_checkpoint
    state = torch.load(summary["checkpoint"], map_location="cpu", weights_only=True)
    assert state[RECORD_KEY]["config"]["model"]["net"]["_target_"] == "baselines.models.nets.regressors.mlp"
    state[RECORD_KEY]["config"]["model"]["net"]["_target_"] = "baselines.models.tabular.mlp"  # where it was
    before = tmp_path / "before.ckpt"
    torch.save(state, before)
    out = tmp_path / "predicted"
    argv = [f"ckpt_path={before}", f"paths.root_dir={tmp_path}", f"paths.output_dir={out}", f"hydra.run.dir={out}"]
    assert main(["predict", *argv]) == 0
    assert (out / "runs" / "spll.csv").read_bytes() == Path(summary["run_file"]).read_bytes()


def test_a_checkpoint_recorded_before_the_shared_settings_nodes_still_predicts(
    spll_checkpoint: tuple[dict, list[str]], tmp_path: Path
) -> None:
    """A record written before issue 30 spells the loader and optimizer keys as they were (`data.batch_size`,
    `model.optimizer.lr`, `+model.compile_model`): they are replayed as data.loader.* and model.optim.*, and the
    prediction writes the same run file."""
    summary, _ = spll_checkpoint
    checkpoint = torch.load(summary["checkpoint"], weights_only=True)
    old = ["data.batch_size=16", "data.num_workers=0", "model.optimizer.lr=0.5", "+model.compile_model=false"]
    checkpoint[RECORD_KEY]["overrides"] += old
    path = tmp_path / "before.ckpt"
    torch.save(checkpoint, path)
    out = tmp_path / "predicted"
    argv = [f"ckpt_path={path}", f"paths.root_dir={tmp_path}", f"paths.output_dir={out}", f"hydra.run.dir={out}"]
    replayed = with_checkpoint_overrides(argv)
    new = [
        "data.loader.batch_size=16",
        "data.loader.num_workers=0",
        "model.optim.optimizer.lr=0.5",
        "++model.optim.compile_model=false",
    ]
    assert replayed[-len(argv) - len(new) : -len(argv)] == new
    cfg = compose_config("predict", replayed)
    assert cfg.data.loader.batch_size == 16 and cfg.model.optim.optimizer.lr == 0.5
    assert main(["predict", *argv]) == 0
    assert (out / "runs" / "spll.csv").read_bytes() == Path(summary["run_file"]).read_bytes()


def test_predict_without_a_checkpoint_is_refused(demo_cfg: Compose) -> None:
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    with pytest.raises(CheckpointError, match=r"ckpt_path=<checkpoint file>.*allow_untrained=true"):
        run(demo_cfg("spll", *SPLL, "train=false"))


def test_an_untrained_run_file_on_purpose_says_so(demo_cfg: Compose) -> None:
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    summary = run(demo_cfg("spll", *SPLL, "train=false", "allow_untrained=true"))
    record = json.loads(provenance_path(summary["run_file"]).read_text())
    assert record["untrained"] is True and record["checkpoint"] is None


def test_ckpt_path_last_without_a_checkpoint_names_the_folder(demo_cfg: Compose, tmp_path: Path) -> None:
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    with pytest.raises(CheckpointError, match=rf"no last.ckpt in {tmp_path / 'out' / 'checkpoints'}"):
        run(demo_cfg("spll", *SPLL, "ckpt_path=last"))


def test_a_checkpoint_of_another_task_is_refused_by_name(
    spll_checkpoint: tuple[dict, list[str]], demo_cfg: Compose
) -> None:
    summary, _ = spll_checkpoint
    with pytest.raises(CheckpointError, match="is from spll, not concepts"):
        run(demo_cfg("concepts", "train=false", f"ckpt_path={summary['checkpoint']}"))


def test_a_checkpoint_that_does_not_fit_the_model_says_what_differs(
    spll_checkpoint: tuple[dict, list[str]], demo_cfg: Compose
) -> None:
    summary, _ = spll_checkpoint
    cfg = demo_cfg("spll", *SPLL, "train=false", "model.net.hidden=16", f"ckpt_path={summary['checkpoint']}")
    with pytest.raises(CheckpointError, match=r"does not fit the model this config builds \(\d+ shape mismatches\)"):
        run(cfg)


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match=r"evil.ckpt: refused to load.*re-save it with weights only"):
        load_checkpoint(path)
    assert not marker.exists()


def test_stored_config_naming_untrusted_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "stranger.ckpt"
    hook = f"+model.hook={{_target_: os.system, command: 'touch {marker}'}}"
    record = {"task": "spll", "overrides": ["experiment=spll", hook]}
    torch.save({"state_dict": {}, RECORD_KEY: record}, path)
    with pytest.raises(CheckpointError, match=r"outside the trusted packages: os.system"):
        with_checkpoint_overrides([f"ckpt_path={path}"])
    assert main(["predict", f"ckpt_path={path}", f"hydra.run.dir={tmp_path}"]) == 2
    assert not marker.exists()
    replayed = with_checkpoint_overrides([f"ckpt_path={path}", "trust_checkpoint=true"])
    assert replayed[0] == "experiment=spll"


def test_replayed_overrides_yield_to_the_users_and_never_include_run_specific_ones(tmp_path: Path) -> None:
    path = tmp_path / "mine.ckpt"
    stored = ["experiment=spll", "+demo=spll", "paths.output_dir=/old", "data.batch_size=8", "ckpt_path=a.ckpt"]
    torch.save({"state_dict": {}, RECORD_KEY: {"task": "spll", **record_overrides(stored)}}, path)
    argv = [f"ckpt_path={path}", "data.loader.batch_size=2"]
    assert with_checkpoint_overrides(argv) == ["experiment=spll", "+demo=spll", *argv]
    # the user's own, in the spelling before issue 30, still wins over the checkpoint's
    assert with_checkpoint_overrides([argv[0], "data.batch_size=2"]) == ["experiment=spll", "+demo=spll", *argv]
    explicit = ["experiment=spll", f"ckpt_path={path}"]
    assert with_checkpoint_overrides(explicit) == explicit


# ---- a checkpoint is data, not a program (issue 26) ----------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else b"")
        for p in sorted(root.rglob("*"))
    }


def _poisoned(tmp_path: Path, *stored: str) -> Path:
    path = tmp_path / "poisoned.ckpt"
    torch.save({"state_dict": {}, RECORD_KEY: {"task": "spll", "overrides": ["experiment=spll", *stored]}}, path)
    return path


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A folder of the user's files that a poisoned checkpoint aims at."""
    folder = tmp_path / "victim"
    folder.mkdir()
    for name in ("important.txt", "hparams.yaml", "embeddings.npy", "hostname"):
        (folder / name).write_text(f"the user's {name}\n")
    return folder


ATTACKS = {
    "interpolated target": ["+x=shutil.copyfile", "callbacks.lr_monitor={_target_:${x},src:S,dst:D}"],
    "re-exported stdlib": ["_target_=baselines.cli.shutil.copyfile"],
    "re-exported open": ["+model.w={_target_:baselines.visual.render.io.open,file:V/important.txt,mode:w}"],
    "trusted writer": ["+model.w={_target_:torch.save,obj:1,f:V/important.txt}"],
    "trusted loader": ["+model.w={_target_:torch.load,f:V/important.txt,weights_only:false}"],
    "atomic text writer": ["+model.w={_target_:baselines.io.atomic.atomic_write_text,path:V/x,text:y}"],
    "paths node": ["paths={output_dir:V,root_dir:V,cache_dir:V}"],
    "hydra node": ["hydra={run:{dir:V}}"],
    "run file writer node": ["callbacks.run_file_writer={output_path:V/important.txt,overwrite:true}"],
    "evaluation node": ["evaluation={ground_truth:V/hostname}"],
    "group outside the tree": ["experiment=../../../../elsewhere/evil"],
    "group outside the tree (model)": ["model=../../V/evil"],
    "environment secret": ["+leak=${oc.env:SECRET}"],
    "resolver in a value": ["data.batch_size=${oc.decode:'8'}"],
    "unknown key": ["+x=shutil.copyfile"],
    "deletion": ["~callbacks.model_checkpoint"],
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_poisoned_checkpoint_is_refused_naming_what_it_tried(
    name: str, tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SECRET", "hunter2")
    stored = [o.replace("V/", f"{victim}/").replace(":V", f":{victim}") for o in ATTACKS[name]]
    path = _poisoned(tmp_path, *stored)
    before = _snapshot(tmp_path)
    out = tmp_path / "out"
    assert main(["predict", f"ckpt_path={path}", f"hydra.run.dir={out}", f"paths.output_dir={out}"]) == 2
    error = capsys.readouterr().err
    assert "refused; nothing was run" in error and "trust_checkpoint=true" in error
    assert any(o[:60] in error for o in stored), error  # the override it tried is quoted
    assert _snapshot(tmp_path) == before  # nothing written (no output folder either)
    assert "hunter2" not in error


def test_refusals_say_why(tmp_path: Path) -> None:
    cases = {
        "_target_=baselines.cli.shutil.copyfile": "code outside the trusted packages: baselines.cli.shutil.copyfile",
        "+model.hook={_target_:torch.save}": "code outside the trusted packages: torch.save",
        "paths={output_dir:/x}": "sets a whole config node",
        "experiment=../evil": "not a plain name of the local configs/experiment/",
        "+leak=${oc.env:SECRET}": r"interpolation or resolver",
        "+x=shutil.copyfile": "x is not a model or input setting",
    }
    for override, why in cases.items():
        with pytest.raises(CheckpointError, match=re.escape(why)):
            with_checkpoint_overrides([f"ckpt_path={_poisoned(tmp_path, override)}"])


@pytest.mark.parametrize(
    "planted",
    [
        "paths.root_dir={victim}",
        "paths.cache_dir={victim}",
        "logger.csv.save_dir={victim}",
        "model.index_dir={victim}",
        "callbacks.run_file_writer.output_path={victim}/important.txt",
        "callbacks.run_file_writer.overwrite=true",
        "trainer.default_root_dir={victim}",
        "hydra.run.dir={victim}",
        "evaluation.ground_truth=/etc/hostname",
    ],
)
def test_the_runs_own_paths_and_outputs_in_a_checkpoint_are_refused(
    spll_checkpoint: tuple[dict, list[str]], tmp_path: Path, victim: Path, planted: str
) -> None:
    """A checkpoint records where its run read and wrote apart (`run_overrides`, never replayed): such a setting
    among the overrides it replays is a forgery, refused naming it, and nothing is written."""
    summary, _ = spll_checkpoint
    checkpoint = torch.load(summary["checkpoint"], weights_only=True)
    override = planted.format(victim=victim)
    checkpoint[RECORD_KEY]["overrides"].append(override)
    path = tmp_path / "planted.ckpt"
    torch.save(checkpoint, path)
    before = _snapshot(victim)
    out = tmp_path / "predicted"
    argv = ["predict", f"ckpt_path={path}", f"paths.root_dir={tmp_path}", f"hydra.run.dir={out}"]
    named = re.escape(f"'{override.split('=')[0]}=") + r"[^']*': the run's own path, output or flag"
    with pytest.raises(CheckpointError, match=named):
        with_checkpoint_overrides(argv[1:])
    assert main([*argv, f"paths.output_dir={out}"]) != 0
    assert _snapshot(victim) == before and not (out / "runs").exists()


def test_a_trusted_checkpoint_replays_its_runs_own_paths_too(spll_checkpoint: tuple[dict, list[str]]) -> None:
    summary, overrides = spll_checkpoint
    replayed = with_checkpoint_overrides([f"ckpt_path={summary['checkpoint']}", "trust_checkpoint=true"])
    assert [o for o in overrides if o.startswith("paths.")] == [o for o in replayed if o.startswith("paths.")]
    untrusted = with_checkpoint_overrides([f"ckpt_path={summary['checkpoint']}"])
    assert not any(o.startswith("paths.") for o in untrusted)


def test_every_target_of_the_project_configs_is_known_exactly() -> None:
    found = set()
    for path in config_dir().rglob("*.yaml"):
        found |= set(re.findall(r"_target_:\s*([\w.]+)", path.read_text()))
    assert found == KNOWN_TARGETS


def test_the_composed_config_may_name_only_known_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check_composed_targets(["experiment=spll", "+demo=spll"])  # the project's own: accepted
    check_composed_targets(["experiment=drawnui", "+demo=drawnui", "trainer=fsdp", "logger=tensorboard"])
    for extra in ("+model.hook={_target_:os.system,command:id}", "model.optimizer._target_=torch.save"):
        with pytest.raises(CheckpointError, match=r"never use: model\.[\w.]+: (os\.system|torch\.save)"):
            check_composed_targets(["experiment=spll", extra])
    # a target that an interpolation would hide is reported as written, never resolved
    with pytest.raises(CheckpointError, match=r"callbacks\.lr_monitor: \$\{x\}"):
        check_composed_targets(["experiment=spll", "+x=os.system", "callbacks.lr_monitor._target_=${x}"])
    # through the command line: the checkpoint is plain, the config it composes is checked with the user's own
    path = _poisoned(tmp_path, "+demo=spll")
    out = tmp_path / "out"
    code = main(["predict", f"ckpt_path={path}", "+callbacks.x={_target_:os.system}", f"hydra.run.dir={out}"])
    assert code == 2 and "callbacks.x: os.system" in capsys.readouterr().err
    assert not out.exists()


def test_trust_checkpoint_replays_a_trusted_checkpoint_unchecked(tmp_path: Path) -> None:
    path = _poisoned(tmp_path, "+model.extra={_target_:my.Thing}", "paths.root_dir=/data", "ckpt_path=a.ckpt")
    replayed = with_checkpoint_overrides([f"ckpt_path={path}", "trust_checkpoint=true"])
    assert replayed[:3] == ["experiment=spll", "+model.extra={_target_:my.Thing}", "paths.root_dir=/data"]


def test_a_moved_tokenizer_folder_is_named_without_hub_advice(tmp_path: Path) -> None:
    from baselines.text.tokenizers import load_tokenizer

    for moved in (tmp_path / "gone" / "tokenizer", "./tokenizer-folder", "~/nowhere/else/tokenizer"):
        with pytest.raises(OSError, match=r"tokenizer folder .* not found .*model\.tokenizer=<folder>") as error:
            load_tokenizer(str(moved))
        assert "hub" not in str(error.value)


@pytest.mark.parametrize("which", ["another task's", "a missing"])
def test_a_wrong_checkpoint_on_the_command_line_is_refused_before_the_run_folder_is_made(
    which: str, demo_cfg: Compose, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # it was refused inside hydra.main: a traceback, exit status 1, and .hydra/, train.log and runs/ left behind
    instantiate(demo_cfg("spll", *SPLL).synthetic)
    checkpoint = tmp_path / "concepts.ckpt"
    if which == "another task's":
        torch.save({"state_dict": {}, RECORD_KEY: {"task": "concepts"}}, checkpoint)
    folder = tmp_path / "predicted"
    argv = ["experiment=spll", "+demo=spll", f"paths.root_dir={tmp_path}", f"hydra.run.dir={folder}"]
    assert main(["predict", f"ckpt_path={checkpoint}", *argv]) == 2
    expected = "is from concepts, not spll" if which == "another task's" else f"checkpoint {checkpoint} not found"
    assert expected in capsys.readouterr().err
    assert not folder.exists()
