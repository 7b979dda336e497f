"""`baselines` command line.

baselines train    experiment=drawnui [hydra overrides...]
baselines predict  ckpt_path=... [experiment=drawnui] [overrides...]
baselines <command> ...     every module of baselines.commands (validate, evaluate, tasks, demo, ...)

Commands are found in `baselines.commands` without a central list: a module there with `HELP`,
`configure(parser)` and `run(args) -> int` is a command. They import what they need inside `run`, so
`baselines validate` starts in a fraction of a second (scripts/bench_cli.py).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from baselines.errors import FormatError

# Hydra's flags that show something and run nothing: the config is composed and printed without the pipeline.
_SHOW_FLAGS = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc")


def _shows_only(argv: Sequence[str]) -> bool:
    return any(arg.split("=", 1)[0] in _SHOW_FLAGS for arg in argv)


def _names_checkpoint(argv: Sequence[str]) -> bool:
    return any(arg.lstrip("+").startswith("ckpt_path=") for arg in argv)


def _not_run(cfg: object) -> None:
    """The task function of `_show`: Hydra prints what its flags ask for and never calls it."""


def _hydra_command(command: str, argv: Sequence[str]) -> int:
    """`baselines train|predict`: checked in about a second (baselines.preflight), then run by `hydra.main`.

    torch and Lightning are imported only once the command line is known to compose: `--help`, `--cfg` and a
    config error never load them (a checkpoint to predict from does: it is read with torch). Keys that moved into
    a shared settings node are spelled the new way first (`data.batch_size` -> `data.loader.batch_size`).
    """
    from baselines.config import moved_override

    argv = [moved_override(arg) for arg in argv]
    if command == "predict" and _names_checkpoint(argv):
        from baselines.checkpoints import with_checkpoint_overrides

        argv = with_checkpoint_overrides(argv)  # raises before Hydra starts, so the error is reported below
    if {"--help", "-h"} & set(argv) and sum(arg.startswith("-") for arg in argv) == 1:
        from baselines.preflight import help_text

        print(help_text(command, [arg for arg in argv if not arg.startswith("-")]))
        return 0
    if _shows_only(argv):
        return _show(command, argv)
    if not any(arg.startswith("-") for arg in argv):  # a multirun (-m) or another config dir is Hydra's to compose
        from omegaconf import OmegaConf

        from baselines.preflight import check

        cfg = check(command, argv)
        checkpoint = OmegaConf.select(cfg, "ckpt_path", throw_on_resolution_failure=False) if cfg is not None else None
        if cfg is not None and isinstance(checkpoint, str) and checkpoint != "last":
            from baselines.checkpoints import check_checkpoint_task

            # before hydra.main makes the run folder: a missing checkpoint or another task's leaves nothing behind
            check_checkpoint_task(checkpoint, cfg.task)
    from baselines import train

    _set_argv(command, argv)
    (train.main if command == "train" else train.predict)()
    return 0


def _show(command: str, argv: Sequence[str]) -> int:
    """`--cfg`, `--info`, `--hydra-help`: Hydra prints them from the same config tree, through a task function that
    never runs, so the pipeline (torch, Lightning) is not imported."""
    import hydra

    from baselines.config import config_dir

    _set_argv(command, argv)
    hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=command)(_not_run)()
    return 0


def _set_argv(command: str, argv: Sequence[str]) -> None:
    # Hydra reads sys.argv; DDP re-runs it for the other ranks, so argv[0] must be the matching
    # console script (baselines-train / baselines-predict) next to this interpreter when installed.
    script = Path(sys.argv[0]).with_name(f"baselines-{command}")
    sys.argv = [str(script if script.is_file() else shutil.which(f"baselines-{command}") or script), *argv]


def _commands() -> dict[str, ModuleType]:
    import baselines.commands as package

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            found[info.name.replace("_", "-")] = importlib.import_module(f"{package.__name__}.{info.name}")
    return found


def _parser(commands: dict[str, ModuleType]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baselines", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train", help="train (and predict, validate, score): Hydra overrides follow")
    sub.add_parser("predict", help="run file from a checkpoint: Hydra overrides follow")
    for name, module in sorted(commands.items()):
        # argparse %-formats help strings: a literal % in a command's HELP ("95% intervals") is escaped
        module.configure(sub.add_parser(name, help=module.HELP.replace("%", "%%"), description=module.HELP))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in ("train", "predict"):
            return _hydra_command(argv[0], argv[1:])
        commands = _commands()
        args = _parser(commands).parse_args(argv)
        return int(commands[args.command].run(args))
    except FormatError as exc:
        count = len(exc.problems) + exc.truncated
        print(f"invalid input ({count} problem{'' if count == 1 else 's'}):\n{exc}", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
