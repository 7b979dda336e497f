"""Beyond one machine: multiruns through the submitit launcher, Optuna sweeps, `baselines sweep-summary`,
the SLURM run folder and auto-requeue, and the FSDP preset (composition only: FSDP needs GPUs)."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from baselines.checkpoints import load_checkpoint
from baselines.cli import main
from baselines.config import compose_config, config_dir, register_resolvers
from baselines.pipeline import run

SPLL = ("experiment=spll", "+demo=spll", "trainer.max_epochs=4")
CLUSTER_EXTRA = "needs the cluster extra (pip install '.[cluster]')"


def _jobs(sweep: Path) -> dict[str, dict[str, Any]]:
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/summary.json")}


def _best_logged(job: Path, metric: str) -> float:
    """The best (lowest) value of `metric` in the job's CSV log, every epoch."""
    (metrics,) = job.glob("csv/version_*/metrics.csv")
    with metrics.open() as f:
        return min(float(row[metric]) for row in csv.DictReader(f) if row.get(metric))


def test_optuna_sweep_of_three_trials_returns_the_best_metric(
    spll_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip(
        "hydra_plugins.hydra_optuna_sweeper", reason="needs the cluster extra (pip install '.[cluster]')"
    )
    sweep = tmp_path / "sweep"
    code = main(
        [
            "train",
            *SPLL,
            "hparams_search=spll",
            f"paths.root_dir={spll_root}",
            f"hydra.sweep.dir={sweep}",
            "hydra.sweeper.n_trials=3",
            "hydra.sweeper.sampler.n_startup_trials=2",
        ]
    )
    assert code == 0
    jobs = _jobs(sweep)
    assert sorted(jobs) == ["0", "1", "2"]
    for name, summary in jobs.items():
        # the task function returned the best val/mae of the run: the checkpoint it predicted with
        assert summary["monitor"]["name"] == "val/mae" and summary["monitor"]["mode"] == "min"
        assert summary["monitor"]["value"] == pytest.approx(_best_logged(sweep / name, "val/mae"))
        assert Path(summary["run_file"]).is_file() and "sign_accuracy" in summary["scores"]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    best = min(jobs.values(), key=lambda s: s["monitor"]["value"])
    assert results["best_value"] == pytest.approx(best["monitor"]["value"])  # minimised, as monitor_mode says
    capsys.readouterr()

    assert main(["sweep-summary", str(sweep), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    values = [job["summary"]["monitor"]["value"] for job in listed["jobs"]]
    assert values == sorted(values) and values[0] == pytest.approx(results["best_value"])  # best (lowest) first
    assert all(any(o.startswith("model.optim.optimizer.lr=") for o in job["swept"]) for job in listed["jobs"])
    assert main(["sweep-summary", str(sweep)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == f"{sweep}: 3 jobs, val/mae (min), best first"
    assert re.match(r"job +val/mae +test sign_accuracy +overrides$", table[1])
    assert table[2].split()[:2] == [listed["jobs"][0]["job"], f"{values[0]:.4f}"]
    assert table[-1].startswith(f"optuna best: val/mae={results['best_value']:.4f} model.optim.optimizer.lr=")


@pytest.mark.slow
def test_submitit_local_launcher_runs_two_jobs(spll_root: Path, tmp_path: Path) -> None:
    pytest.importorskip(
        "hydra_plugins.hydra_submitit_launcher", reason="needs the cluster extra (pip install '.[cluster]')"
    )
    sweep = tmp_path / "sweep"
    code = main(
        [
            "train",
            "-m",
            *SPLL,
            "hydra/launcher=submitit_local",
            "hydra.launcher.timeout_min=10",
            f"paths.root_dir={spll_root}",
            f"hydra.sweep.dir={sweep}",
            "seed=1,2",
        ]
    )
    assert code == 0
    jobs = _jobs(sweep)
    assert sorted(jobs) == ["0", "1"]
    for name, summary in jobs.items():
        assert yaml.safe_load((sweep / name / ".hydra/overrides.yaml").read_text())[-1] == f"seed={int(name) + 1}"
        assert summary["monitor"]["value"] == pytest.approx(_best_logged(sweep / name, "val/mae"))
        assert Path(summary["run_file"]) == sweep / name / "runs" / "spll.csv"
    # each job ran in its own submitit process, which logged there
    assert len(list((sweep / ".submitit").glob("*/*_0_log.out"))) == 2


def test_sweep_summary_lists_a_failed_job_last_and_refuses_other_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for job, value in (("0", 0.5), ("1", None), ("2", 0.7)):
        (tmp_path / job / ".hydra").mkdir(parents=True)
        (tmp_path / job / ".hydra/overrides.yaml").write_text(f"- experiment=concepts\n- model.dropout=0.{job}\n")
        if value is not None:
            summary = {
                "task": "concepts",
                "scores": {"f1": value / 2},
                "monitor": {"name": "val/f1", "mode": "max", "value": value},
            }
            (tmp_path / job / "summary.json").write_text(json.dumps(summary))
    assert main(["sweep-summary", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["2", "0", "1"]  # maximised: 0.7 first; no summary last
    assert lines[2].split() == ["2", "0.7000", "0.3500", "model.dropout=0.2"]  # the common override is left out
    assert "no summary (failed or running)" in lines[4]
    assert main(["sweep-summary", str(tmp_path / "0")]) == 2
    assert "not a Hydra multirun folder" in capsys.readouterr().err


def _run_dir(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for key in ("SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_JOB_NAME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    register_resolvers()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", ["experiment=spll"], return_hydra_config=True)
    return str(cfg.hydra.run.dir)


def test_slurm_job_runs_share_one_folder_named_after_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    # every task of every node resolves the same folder, and so does the job requeued later
    assert _run_dir(monkeypatch, SLURM_JOB_ID="4242", SLURM_NTASKS="8", SLURM_JOB_NAME="train").endswith(
        "/spll/runs/slurm-4242"
    )
    # an interactive allocation (Lightning's rule) and no SLURM at all: the start time
    stamp = r"/spll/runs/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$"
    assert re.search(stamp, _run_dir(monkeypatch, SLURM_JOB_ID="4242", SLURM_NTASKS="1", SLURM_JOB_NAME="bash"))
    assert re.search(stamp, _run_dir(monkeypatch))


class Preempted(pl.Callback):
    """SLURM's warning signal before the time limit (sbatch --signal=SIGUSR1@90), then the kill."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch = epoch
        self.batch = batch

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, index: int) -> None:
        if trainer.current_epoch == self.epoch and index == self.batch:
            os.kill(os.getpid(), signal.SIGUSR1)  # Lightning saves hpc_ckpt_1.ckpt and runs `scontrol requeue`
            raise RuntimeError("killed at the time limit")


def _validated_epochs(job: Path, version: int) -> list[int]:
    with (job / f"csv/version_{version}/metrics.csv").open() as f:
        return [int(row["epoch"]) for row in csv.DictReader(f) if row.get("val/mae")]


def test_slurm_auto_requeue_resumes_from_the_hpc_checkpoint(
    spll_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slurm = {"SLURM_JOB_ID": "77", "SLURM_NTASKS": "1", "SLURM_JOB_NAME": "train", "SLURM_PROCID": "0"}
    for key, value in {**slurm, "SLURM_LOCALID": "0", "SLURM_NODEID": "0", "PATH": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)  # PATH: no scontrol here, Lightning logs the failed requeue and goes on
    job = [*SPLL, f"paths.root_dir={spll_root}", f"paths.output_dir={tmp_path / 'slurm-77'}"]  # hydra.run.dir of job 77
    preempt = "+callbacks.preempt={_target_: test_cluster.Preempted, epoch: 2, batch: 1}"
    with pytest.raises(RuntimeError, match="killed at the time limit"):
        run(compose_config("train", [*job, preempt]))
    assert (tmp_path / "slurm-77/hpc_ckpt_1.ckpt").is_file()
    # the requeued job runs the same command (no ckpt_path): Lightning finds the hpc checkpoint in the
    # job's folder and goes on from epoch 2, batch 1 instead of starting again
    resumed = run(compose_config("train", job))
    assert _validated_epochs(tmp_path / "slurm-77", 0) == [0, 1]
    assert _validated_epochs(tmp_path / "slurm-77", 1) == [2, 3]
    last = load_checkpoint(tmp_path / "slurm-77/checkpoints/last.ckpt")
    assert (last["epoch"], last["global_step"]) == (3, 8)  # 4 epochs of 2 batches, as without the requeue
    assert Path(resumed["run_file"]).is_file() and resumed["scores"]  # validated and scored


def test_fsdp_preset_wraps_every_transformer_block_of_the_captioner(tmp_path: Path) -> None:
    overrides = [
        "experiment=caption",
        "+demo=caption",
        "trainer=fsdp",
        f"paths.root_dir={tmp_path}",
        f"paths.output_dir={tmp_path}/out",
        "synthetic.n_train=2",
        "synthetic.n_test=2",
    ]
    cfg = compose_config("train", overrides)
    instantiate(cfg.synthetic)  # the demo tokenizer
    strategy = instantiate(cfg.trainer.strategy)
    assert isinstance(strategy, pl.strategies.FSDPStrategy)
    assert strategy.kwargs["use_orig_params"] and strategy.sharding_strategy.name == "FULL_SHARD"
    policy = strategy.kwargs["auto_wrap_policy"]
    model = instantiate(cfg.model)
    units = [m for m in model.modules() if isinstance(m, tuple(policy._module_classes))]
    # one FSDP unit per block: 2 ViT encoder layers + 2 GPT-2 decoder blocks in the demo captioner
    assert len(units) == cfg.model.net.encoder_layers + cfg.model.net.decoder_layers == 4
    assert {type(m).__name__ for m in units} == {"ViTLayer", "GPT2Block"}


@pytest.mark.parametrize("strategy", ["fsdp", "ddp"])
def test_trainer_strategy_is_a_command_line_override(strategy: str, tmp_path: Path) -> None:
    cfg = compose_config("train", ["experiment=spll", f"trainer.strategy={strategy}", f"paths.output_dir={tmp_path}"])
    assert cfg.trainer.strategy == strategy
    if strategy == "ddp":
        trainer = instantiate(cfg.trainer, accelerator="cpu", devices=2, logger=False)
        assert isinstance(trainer.strategy, pl.strategies.DDPStrategy)
    else:  # Lightning's own message: FSDP trains on GPUs only
        with pytest.raises(InstantiationException, match="requires a GPU accelerator"):
            instantiate(cfg.trainer, accelerator="cpu", logger=False)


def test_slurm_launcher_preset_asks_for_lightnings_requeue_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(
        "hydra_plugins.hydra_submitit_launcher", reason="needs the cluster extra (pip install '.[cluster]')"
    )
    from submitit.slurm.slurm import SlurmExecutor

    register_resolvers()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose(
            "train",
            [
                "experiment=spll",
                "hydra/launcher=slurm",
                "hydra.launcher.tasks_per_node=4",
                f"hydra.sweep.dir={tmp_path}",
            ],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    srun = tmp_path / "bin/srun"  # submitit's executor wants a SLURM client; it only writes the script here
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\nexit 1\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{srun.parent}{os.pathsep}{os.environ['PATH']}")
    executor = SlurmExecutor(folder=tmp_path)
    executor.update_parameters(
        ntasks_per_node=launcher.tasks_per_node,
        signal_delay_s=launcher.signal_delay_s,
        additional_parameters=dict(launcher.additional_parameters),
    )
    script = executor._make_submission_file_text("python -m submitit.core._submit", "uid")
    # submitit's own USR2 is replaced: Lightning's SLURMEnvironment saves hpc_ckpt on SIGUSR1 and requeues
    assert "#SBATCH --signal=USR1@120" in script and "--signal=USR2" not in script
    assert "#SBATCH --ntasks-per-node=4" in script


@pytest.mark.parametrize("task", sorted(p.stem for p in (config_dir() / "hparams_search").glob("*.yaml")))
def test_every_search_space_names_keys_of_its_experiment(task: str) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason=CLUSTER_EXTRA)
    register_resolvers()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", [f"experiment={task}", f"hparams_search={task}"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper.direction == {"max": "maximize", "min": "minimize"}[cfg.monitor_mode]
    for key in sweeper.params:  # a typo would sweep a key the run never reads
        assert OmegaConf.select(cfg, key, default="missing") != "missing", key
