"""Local evaluators that reproduce the official ImageCLEF 2020 scores."""
