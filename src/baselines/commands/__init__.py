"""Subcommands of `baselines` (see baselines.cli): one module each, with `HELP`, `configure`, `run`."""
