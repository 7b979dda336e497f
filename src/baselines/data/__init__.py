"""Data modules, official-format parsers and synthetic data generators."""
