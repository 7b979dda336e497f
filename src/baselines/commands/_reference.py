"""What validate and evaluate share: the task, its reference from --gt / --images, and what went unchecked."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from baselines.errors import FormatWarning


def add_reference_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="a registered task (baselines tasks)")
    parser.add_argument("run_file")
    parser.add_argument(
        "--ground-truth", "--gt", dest="ground_truth", default=None, help="the split's official ground-truth file"
    )
    parser.add_argument(
        "--images",
        default=None,
        help="what the run must cover: the test image (or CT) folder, the VQA test questions file, the "
        "LMRT image folder, metadata or topics file, the SPLL features file",
    )


def load(args: argparse.Namespace) -> tuple[Any, Any]:
    """The task spec and the reference the run is checked against (None: grammar only).

    Raises:
        ValueError: For a ground truth that reads as another task's (`TaskSpec.check_ground_truth`).
    """
    from baselines.tasks import get_task

    spec = get_task(args.task)
    if args.ground_truth is None and args.images is None:
        return spec, None
    if args.ground_truth is not None:
        spec.check_ground_truth(args.ground_truth)  # another task's ground truth is refused, naming that task
    reference = spec.load_reference(args.ground_truth, args.images)
    if getattr(args, "subsets", None):
        reference = spec.with_subsets(reference, args.subsets)
    return spec, reference


@contextlib.contextmanager
def printed_warnings() -> Iterator[None]:
    """Prints every warning raised inside, once each and after the block: a FormatWarning (accepted, but
    probably a mistake) as `warning: <file>:<line>: ...`, any other class as Python prints it.

    The recorded warnings are written to stderr directly. Handing them back to `warnings.showwarning`
    inside `catch_warnings(record=True)` appended each one again to the list being printed, so any
    warning that is not a FormatWarning (a one-class TB label's) looped until memory ran out.
    """
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always", FormatWarning)
            try:
                yield
            finally:
                caught = list(recorded)
    finally:
        for item in caught:
            if issubclass(item.category, FormatWarning):
                print(f"warning: {item.message}", file=sys.stderr)
            else:
                text = warnings.formatwarning(item.message, item.category, item.filename, item.lineno, item.line)
                print(text, end="", file=sys.stderr)
