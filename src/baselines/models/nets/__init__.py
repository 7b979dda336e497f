"""Networks: plain builder functions and `nn.Module`s with explicit typed arguments, random init offline.

The LightningModules of `baselines.models` hold one of these; nothing here knows about Lightning.
"""
