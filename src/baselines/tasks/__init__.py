"""ImageCLEF 2020 task definitions: classes, run-file grammar, validator and evaluator per (sub)task."""

from baselines.tasks.base import TaskSpec, get_task, task_names

__all__ = ["TaskSpec", "get_task", "task_names"]
