"""Where the Hydra config tree is, and the resolvers it uses."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.resolvers import oc

from baselines.tasks import get_task

_UNSET = object()

# Keys that moved into the shared settings nodes (issue 30): data.loader (baselines.data.base.Loader) and model.optim
# (baselines.models.base.Optim). A command line, a test or a checkpoint's record that spells them the old way is read
# the new way (`moved_override`); a config file that sets them the old way is refused by name (baselines.preflight).
_LOADER_KEYS = ("batch_size", "num_workers", "pin_memory", "persistent_workers", "predict_batch_size")
_OPTIM_KEYS = ("optimizer", "scheduler", "scheduler_interval", "monitor", "channels_last", "compile_model")
MOVED_KEYS = {
    **{f"data.{key}": f"data.loader.{key}" for key in _LOADER_KEYS},
    **{f"model.{key}": f"model.optim.{key}" for key in _OPTIM_KEYS},
}


def config_dir() -> Path:
    """The config tree: $BASELINES_CONFIG_DIR, the copy inside an installed wheel, or the repo's configs/."""
    override = os.environ.get("BASELINES_CONFIG_DIR")
    candidates = [Path(override)] if override else []
    here = Path(__file__).resolve().parent
    candidates += [here / "configs", here.parents[1] / "configs"]
    for candidate in candidates:
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"no Hydra config tree (train.yaml) in any of {[str(c) for c in candidates]}")


def _id_from(task: str) -> str:
    rule = getattr(get_task(task), "id_from", None)
    if rule is None:
        raise ValueError(f"task {task!r} has no image-id rule (id_from): only region tasks name images by file")
    return str(rule)


def slurm_job_or(default: str) -> str:
    """`slurm-<job id>` inside a SLURM job (batch or srun), else `default` (`${slurm_job_or:...}`).

    Every task of a multi-node job runs `baselines train` on its own, and each would resolve `${now:}`
    to its own second: the SLURM job id is the one name they share, and a requeued job keeps it, so it
    finds its `hpc_ckpt_*.ckpt` again. Lightning's rule decides what is a SLURM job: an interactive
    allocation (job name `bash` or `interactive`) keeps the timestamp, so runs started by hand in it
    do not share a folder.
    """
    from lightning.fabric.plugins.environments import SLURMEnvironment  # torch: only when a run dir resolves

    job_id = SLURMEnvironment.job_id()
    return default if job_id is None else f"slurm-{job_id}"


def register_resolvers() -> None:
    """`${num_classes:drawnui}`, `${classes:drawnui}` and `${id_from:coral_boxes}` read the task registry, so class
    lists and id rules live in one place; `${slurm_job_or:...}` names run folders (configs/hydra/default.yaml)."""
    if not OmegaConf.has_resolver("num_classes"):
        OmegaConf.register_new_resolver("num_classes", lambda task: len(get_task(task).classes))
    if not OmegaConf.has_resolver("classes"):
        OmegaConf.register_new_resolver("classes", lambda task: ListConfig(list(get_task(task).classes)))
    if not OmegaConf.has_resolver("id_from"):
        # the official id of an image file (its name or its stem) is stated once, by the task
        OmegaConf.register_new_resolver("id_from", _id_from)
    if not OmegaConf.has_resolver("slurm_job_or"):
        OmegaConf.register_new_resolver("slurm_job_or", slurm_job_or)


_ENV_MARK = re.compile("\x00oc.env\x00([^\x00]*)\x00")


def _marked_env(key: str, default: Any = _UNSET) -> str:
    """Stands in for `oc.env` while a record is resolved: the expression, marked, instead of the value."""
    if default is _UNSET:
        return f"\x00oc.env\x00${{oc.env:{key}}}\x00"
    quoted = "null" if default is None else "'" + str(default).replace("\\", "\\\\").replace("'", "\\'") + "'"
    return f"\x00oc.env\x00${{oc.env:{key},{quoted}}}\x00"


def _unmark(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _unmark(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_unmark(value) for value in node]
    if isinstance(node, str) and "\x00oc.env\x00" in node:
        return _ENV_MARK.sub(lambda m: m.group(1), node)
    return node


def resolved_for_record(cfg: DictConfig) -> dict[str, Any]:
    """The config resolved as plain data for what a run records (provenance, checkpoints, hparams.yaml), except
    that whatever comes from the environment stays unresolved: `${oc.env:SECRET}` is written as that expression,
    never as the secret, and so is every value built from one (`${oc.env:BASELINES_ROOT,'.'}/data`).

    `oc.env` is swapped for a marking resolver for the time of this one resolution (the entry points resolve on
    one thread, before any loader worker starts).
    """
    OmegaConf.register_new_resolver("oc.env", _marked_env, replace=True)
    try:
        resolved = OmegaConf.to_container(cfg, resolve=True)
    finally:
        OmegaConf.register_new_resolver("oc.env", oc.env, replace=True)
    return dict(_unmark(resolved))


def moved_override(override: str) -> str:
    """An override of a key in MOVED_KEYS (or below one) spelled the new way; any other override as given.

    `data.batch_size=4` -> `data.loader.batch_size=4`, `model.optimizer.lr=1e-3` -> `model.optim.optimizer.lr=1e-3`,
    `~model.scheduler` -> `~model.optim.scheduler`. An addition (`+model.compile_model=true`, needed when the key was
    not in the model's config) becomes an addition or assignment (`++`): the shared node now has every key.
    """
    body = override.lstrip("~+")
    prefix = override[: len(override) - len(body)]
    key, equals, value = body.partition("=")
    for old, new in MOVED_KEYS.items():
        if key == old or key.startswith(old + "."):
            return f"{'++' if prefix == '+' else prefix}{new}{key[len(old) :]}{equals}{value}"
    return override


def compose_config(
    config_name: str = "train", overrides: Sequence[str] = (), return_hydra_config: bool = False
) -> DictConfig:
    """Composes a config outside `hydra.main` (demo, tests, notebooks, the CLI's checks and help).

    `paths.output_dir` must then be given, since Hydra's run dir does not exist here.

    Args:
        return_hydra_config: Keep the `hydra` node (its help texts, run dir) in the result.
    """
    register_resolvers()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        moved = [moved_override(o) for o in overrides]
        return compose(config_name, overrides=moved, return_hydra_config=return_hydra_config)


register_resolvers()
