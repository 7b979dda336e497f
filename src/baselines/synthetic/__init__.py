"""Synthetic data in each task's official file formats, for the demo and the tests (no downloads)."""
