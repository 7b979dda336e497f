"""Readers of the official annotation, ground-truth and metadata files.

Plain Python and NumPy (no torch): the validators and evaluators import only these, so
`baselines validate` and `baselines evaluate` start in well under a second.
"""
