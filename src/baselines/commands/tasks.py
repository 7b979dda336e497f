"""`baselines tasks`: the registered tasks, and task modules that could not be imported."""

from __future__ import annotations

import argparse

HELP = "list the registered tasks"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from baselines.tasks import get_task, task_names
    from baselines.tasks.base import unavailable_task_modules

    for name in task_names():
        spec = get_task(name)
        print(f"{name:<16} primary metric {spec.primary_metric:<14} classes {len(spec.classes)}")
    broken = unavailable_task_modules()
    for module, why in sorted(broken.items()):
        print(f"unavailable: baselines.tasks.{module} ({why})")
    if broken:
        print("install the optional dependencies: pip install 'imageclef-baselines[tasks]'")
    return 1 if broken else 0
