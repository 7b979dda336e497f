"""Run files: atomic writing, provenance, the prediction-writer callback and each task's grammar."""
