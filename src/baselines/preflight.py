"""Checks a `baselines train|predict` command line in about a second, before torch and Lightning load.

The CLI composes the config with Hydra's compose API (hydra-core and omegaconf import in a fraction of a
second; torch and Lightning take over ten) and reports here, before `hydra.main` composes it again and the
run starts:

- an unknown key, with the close matches among the keys of its config node, the parameters of the node's
  `_target_` (read from the source of the project's own classes with `ast`, never imported; a static list,
  checked against `inspect.signature` by tests/test_preflight.py, for Lightning's Trainer) and, for a top-level
  key, the keys of every node (`max_epochs=1`: did you mean `trainer.max_epochs=1`);
- a config group option that does not exist (`trainer=gpuu`), with the close ones;
- no task (`experiment=` forgotten);
- a prediction without a checkpoint (`ckpt_path=`), unless `allow_untrained=true`;
- a data path that does not exist where the data module's constructor requires it (a parameter without a
  default) for a split the run uses (`train_*` and `val_*` when training, `predict_*` when predicting);
- `trainer.accelerator` gpu/cuda on a machine without a GPU device, with `trainer=cpu` suggested;
- `evaluation.ground_truth` that does not exist, or reads as another task's ground truth (`TaskSpec.sniff`);
- a config file that sets a key that moved into a shared settings node (`data.batch_size`, now
  `data.loader.batch_size`: `baselines.config.MOVED_KEYS`; on the command line the old key is read as the new one),
  or a search config that sweeps one (`hydra.sweeper.params`).
"""

from __future__ import annotations

import ast
import difflib
import glob
import os
import re
import string
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, ListConfig, OmegaConf

from baselines.config import MOVED_KEYS, compose_config, moved_override

# lightning.pytorch.Trainer's parameters, known without importing torch (tests/test_preflight.py compares this
# with inspect.signature(Trainer), so a Lightning upgrade that changes them fails there).
TRAINER_PARAMETERS = (
    "accelerator",
    "strategy",
    "devices",
    "num_nodes",
    "precision",
    "logger",
    "callbacks",
    "fast_dev_run",
    "max_epochs",
    "min_epochs",
    "max_steps",
    "min_steps",
    "max_time",
    "limit_train_batches",
    "limit_val_batches",
    "limit_test_batches",
    "limit_predict_batches",
    "overfit_batches",
    "val_check_interval",
    "check_val_every_n_epoch",
    "num_sanity_val_steps",
    "log_every_n_steps",
    "enable_checkpointing",
    "enable_progress_bar",
    "enable_model_summary",
    "accumulate_grad_batches",
    "gradient_clip_val",
    "gradient_clip_algorithm",
    "deterministic",
    "benchmark",
    "inference_mode",
    "use_distributed_sampler",
    "profiler",
    "detect_anomaly",
    "barebones",
    "plugins",
    "sync_batchnorm",
    "reload_dataloaders_every_n_epochs",
    "default_root_dir",
    "enable_autolog_hparams",
    "model_registry",
)
_STATIC_PARAMETERS = {"lightning.pytorch.Trainer": TRAINER_PARAMETERS}
_SPLIT_PREFIXES = {"train_": "train", "val_": "train", "predict_": "predict"}
_GPU_ACCELERATORS = ("gpu", "cuda")


UNTRAINED = (
    "predicting needs a trained model: ckpt_path=<checkpoint file> (or ckpt_path=last with "
    "hydra.run.dir=<the training run's folder>). To write a run file from an untrained model on "
    "purpose (a baseline of baselines), set allow_untrained=true"
)


class ConfigError(ValueError):
    """A command line that cannot run, found before anything heavy is imported."""


def _compose(config_name: str, overrides: list[str], return_hydra_config: bool = False) -> DictConfig:
    try:
        return compose_config(config_name, overrides, return_hydra_config)
    except MissingConfigException as exc:
        raise ConfigError(_missing_option(exc)) from None
    except HydraException as exc:
        raise ConfigError(_composition_error(config_name, overrides, exc)) from None


def check(config_name: str, overrides: Sequence[str]) -> DictConfig | None:
    """Composes `config_name` with overrides as `hydra.main` will and refuses what cannot run.

    Returns:
        The composed config, or None for a sweep (each job is composed by Hydra).

    Raises:
        ConfigError: Saying what is wrong and what to write instead.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as exc:
        raise ConfigError(str(exc)) from None
    if any(override.is_sweep_override() for override in parsed):
        return None  # `seed=1,2` under hparams_search (a multirun set in the config): each job is Hydra's to compose
    cfg = _compose(config_name, list(overrides), return_hydra_config=True)  # hydra.sweeper.params too
    if OmegaConf.is_missing(cfg, "task"):
        raise ConfigError(f"no task: give experiment=<name> ({', '.join(_options('experiment'))})")
    problems = [
        *_untrained(cfg),
        *_moved_keys(cfg),
        *_moved_sweep_keys(cfg),
        *_missing_data(cfg),
        *_gpu_problems(cfg),
        *_ground_truth_problems(cfg),
    ]
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} problems; nothing was run:\n  " + "\n  ".join(problems))
    return cfg


def help_text(config_name: str, overrides: Sequence[str]) -> str:
    """`baselines train|predict --help`: `hydra.help.template` filled as Hydra fills it, with `$APP_CONFIG_GROUPS`
    (from the config tree's folders) and `$CONFIG` (composed with overrides, unresolved).

    Hydra's own `--help` also lists every group of its own config tree, deep-copying its config repository once
    per group: three quarters of a two-second help. Other template fields are left as written.

    Raises:
        ConfigError: For overrides that do not compose.
    """
    cfg = _compose(config_name, list(overrides), return_hydra_config=True)
    template = str(cfg.hydra.help.template)  # resolves the header and footer, named after config_name
    job = OmegaConf.masked_copy(cfg, [str(key) for key in cfg if key != "hydra"])
    return string.Template(template).safe_substitute(
        APP_CONFIG_GROUPS="\n".join(f"{group}: {', '.join(_options(group))}" for group in _groups()),
        CONFIG=OmegaConf.to_yaml(job),
    )


def _groups() -> list[str]:
    from baselines.config import config_dir

    return sorted(path.name for path in config_dir().iterdir() if path.is_dir() and path.name != "hydra")


def _options(group: str) -> list[str]:
    from baselines.config import config_dir

    return sorted(path.stem for path in (config_dir() / group).glob("*.yaml"))


def _missing_option(exc: MissingConfigException) -> str:
    found = re.search(r"Could not find '([^']+)'", str(exc))
    if not found or "/" not in found.group(1):
        return str(exc).split("\nConfig search path")[0]
    group, _, name = found.group(1).rpartition("/")
    options = [str(o) for o in (exc.options or [])]
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    hint = f" Did you mean {group}={close[0]}?" if close else ""
    return f"no config {group}={name}.{hint} Options of {group}: {', '.join(options)}"


def _composition_error(config_name: str, overrides: list[str], exc: HydraException) -> str:
    text = str(exc).strip()
    found = re.match(r"Could not override '([^']+)'", text)
    if not found:
        return text
    key = found.group(1)
    given = next((o for o in overrides if o.split("=", 1)[0].lstrip("~+") == key), f"{key}=...")
    value = given.split("=", 1)[1] if "=" in given else "..."
    try:
        cfg: DictConfig | None = compose_config(config_name, [o for o in overrides if o != given])
    except HydraException:
        cfg = None
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent, default=None) if (cfg is not None and parent) else cfg
    names: dict[str, str] = {}  # a candidate's last part -> the full key it stands for
    target = None
    if isinstance(node, DictConfig):
        names = {str(k): f"{parent}.{k!s}" if parent else str(k) for k in node if k != "_target_"}
        target = _raw(node, "_target_")
    parameters = _parameters(target)[0] if isinstance(target, str) else []
    where = f"{parent} ({target})" if target else (parent or "the top level of the config")
    if leaf in parameters:
        return (
            f"{key} is not set in the config, but {target} takes it: add it with +{key}={value} "
            f"(a leading + adds a key)"
        )
    candidates = {**names, **{p: f"{parent}.{p}" for p in parameters}}
    if not parent and cfg is not None:  # max_epochs=1: a key of a node, given without its node
        candidates = {**dict(_leaves(OmegaConf.to_container(cfg, resolve=False))), **candidates}
    close = difflib.get_close_matches(leaf, list(candidates), n=3, cutoff=0.75)
    if close:
        means = " or ".join(f"{candidates[c]}={value}" for c in close)
        return f"{key}: no such key in {where}. Did you mean {means}?"
    known = ", ".join(sorted(names)) or "none"
    return f"{key}: no such key in {where} (its keys: {known}). To add a new key on purpose: +{key}={value}"


def _raw(node: DictConfig, key: str) -> Any:
    """A value as written (an interpolation is not resolved), or None."""
    child = node._get_node(key) if key in node else None
    return child._value() if child is not None else None


def _leaves(container: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(last part, full key) of every key of the config, the hydra node left out."""
    if isinstance(container, dict):
        for key, value in container.items():
            full = f"{where}.{key}" if where else str(key)
            if full == "hydra" or key == "_target_":
                continue
            if where:
                yield str(key), full
            yield from _leaves(value, full)


def _parameters(target: str | None) -> tuple[list[str], set[str]]:
    """A `_target_`'s parameters and those without a default, without importing it: a static list for Lightning's
    Trainer, the source (`ast`) for the project's own classes and functions, nothing for anything else."""
    if target is None:
        return [], set()
    if target in _STATIC_PARAMETERS:
        return list(_STATIC_PARAMETERS[target]), set()
    module, _, name = target.rpartition(".")
    if not module.startswith("baselines."):
        return [], set()
    import baselines

    path = Path(baselines.__file__).parent.joinpath(*module.split(".")[1:])
    source = path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"
    if not source.is_file():
        return [], set()
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return _signature(node)
        if isinstance(node, ast.ClassDef) and node.name == name:
            init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
            if init is not None:
                return _signature(init)
            if any("dataclass" in ast.unparse(d) for d in node.decorator_list):
                fields = [n for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]
                names = [ast.unparse(f.target) for f in fields]
                return names, {name for name, f in zip(names, fields, strict=True) if f.value is None}
            for base in node.bases:  # the constructor is inherited: the first base's
                base_name = ast.unparse(base)
                return _parameters(imported.get(base_name, f"{module}.{base_name}"))
    return [], set()


def _signature(function: ast.FunctionDef) -> tuple[list[str], set[str]]:
    arguments = function.args
    positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    required = set(positional[: len(positional) - len(arguments.defaults)])
    keywords = [a.arg for a in arguments.kwonlyargs]
    required |= {a for a, default in zip(keywords, arguments.kw_defaults, strict=True) if default is None}
    return [p for p in (*positional, *keywords) if p != "self"], required - {"self"}


def _paths_of(value: Any) -> list[str]:
    values = list(value) if isinstance(value, list | tuple | ListConfig) else [value]
    return [str(v) for v in values if isinstance(v, str) and "/" in v]


def _moved_keys(cfg: DictConfig) -> Iterator[str]:
    """Keys that a config file (an experiment, a demo, the user's own) still sets where they were before issue 30:
    the module would refuse them as unexpected arguments once torch has loaded."""
    for old, new in MOVED_KEYS.items():
        parent, _, leaf = old.rpartition(".")
        node = cfg.get(parent)
        if isinstance(node, DictConfig) and leaf in node:
            folder = new.rpartition(".")[0].replace(".", "/")
            yield f"{old} is set by a config file, but that key is {new} now (configs/{folder}/): move it there"


def _moved_sweep_keys(cfg: DictConfig) -> Iterator[str]:
    """Keys a search config (`hparams_search`, `hydra.sweeper.params`) still sweeps where they were before issue 30:
    the sweeper composes each trial itself, so the command line's mapping (`moved_override`) never sees them."""
    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None)
    if not isinstance(params, DictConfig):
        return
    for key in map(str, params):
        new = moved_override(f"{key}=").removesuffix("=")
        if new != key:
            yield f"hydra.sweeper.params sweeps {key}, but that key is {new} now: rename it in the search config"


def _untrained(cfg: DictConfig) -> Iterator[str]:
    if cfg.get("predict") and not cfg.get("train") and cfg.get("ckpt_path") is None and not cfg.get("allow_untrained"):
        yield UNTRAINED


def _missing_data(cfg: DictConfig) -> Iterator[str]:
    data = cfg.get("data")
    if not isinstance(data, DictConfig):
        return
    target = _raw(data, "_target_")
    _, required = _parameters(target if isinstance(target, str) else None)
    missing = []
    for name in sorted(required):
        split = next((s for prefix, s in _SPLIT_PREFIXES.items() if name.startswith(prefix)), None)
        if name not in data or (split is not None and not cfg.get(split)):
            continue
        try:
            value = OmegaConf.to_object(data[name]) if isinstance(data[name], ListConfig) else data[name]
        except Exception:  # a value that resolves only inside hydra.main is checked there
            continue
        missing += [f"data.{name}: {path} does not exist" for path in _paths_of(value) if not Path(path).exists()]
    if missing and isinstance(cfg.get("synthetic"), DictConfig):
        # +demo=<name> sets the generator's settings, but only `baselines demo` runs the generator
        missing[-1] += (
            f" (+demo= does not make the synthetic data: `baselines demo --tasks {cfg.task}` writes them under "
            "demo_out/data; then give paths.data_dir=demo_out/data)"
        )
    elif missing:
        missing[-1] += (
            " (give paths.data_dir=<the folder holding the official files, laid out as configs/data/ says>, "
            "or data.<key>=<where the file is>)"
        )
    yield from missing


def gpu_present() -> bool:
    """Whether a GPU device is visible to this process, from the device files alone (no driver, no torch).

    NVIDIA's /dev/nvidia<N>, AMD ROCm's /dev/kfd, WSL2's /dev/dxg; outside Linux (macOS: MPS) it is assumed.
    CUDA_VISIBLE_DEVICES set to nothing (or -1) hides them all.
    """
    if os.environ.get("CUDA_VISIBLE_DEVICES", "0").strip() in ("", "-1"):
        return False
    if not sys.platform.startswith("linux"):
        return True
    return bool(glob.glob("/dev/nvidia[0-9]*")) or any(Path(p).exists() for p in ("/dev/kfd", "/dev/dxg"))


def _gpu_problems(cfg: DictConfig) -> Iterator[str]:
    trainer = cfg.get("trainer")
    accelerator = trainer.get("accelerator") if isinstance(trainer, DictConfig) else None
    if isinstance(accelerator, str) and accelerator.lower() in _GPU_ACCELERATORS and not gpu_present():
        yield (
            f"trainer.accelerator={accelerator}, but this machine has no GPU (no /dev/nvidia* device): "
            "run on the CPU with trainer=cpu (or trainer.accelerator=cpu to keep the rest of this trainer preset, "
            "e.g. trainer=ddp on CPU processes)"
        )


def _ground_truth_problems(cfg: DictConfig) -> Iterator[str]:
    evaluation = cfg.get("evaluation")
    try:
        truth = evaluation.get("ground_truth") if isinstance(evaluation, DictConfig) else None
    except Exception:  # resolved only inside hydra.main: checked there
        return
    if not (truth and cfg.get("predict") and cfg.get("evaluate")):
        return
    if not Path(truth).is_file():
        yield f"evaluation.ground_truth: {truth} does not exist"
        return
    from baselines.tasks import get_task

    try:
        get_task(str(cfg.task)).check_ground_truth(truth)
    except KeyError as exc:  # an unknown task
        yield str(exc.args[0])
    except ValueError as exc:
        yield f"evaluation.ground_truth: {exc}"
