"""Torch data modules (`base.BaseDataModule`), their datasets and the records they are built from (annotations
tied to image files).

The readers of the official formats are in `baselines.io.formats`, the synthetic data generators in
`baselines.synthetic`."""
