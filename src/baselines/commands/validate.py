"""`baselines validate --task T RUN [--gt GT] [--images DIR]`: check a run file line by line."""

from __future__ import annotations

import argparse

from baselines.commands._reference import add_reference_arguments, load, printed_warnings

HELP = "check a run file line by line (with --gt/--images also against the test set)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_reference_arguments(parser)


def run(args: argparse.Namespace) -> int:
    with printed_warnings():
        spec, reference = load(args)
        spec.validate(args.run_file, reference)
    print(f"{args.run_file}: valid {spec.name} run file")
    for check in spec.unchecked(reference):
        print(f"  not checked: {check}")
    return 0
