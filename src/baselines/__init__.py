"""Reference deep-learning baselines for the ImageCLEF 2020 tasks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imageclef-baselines")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
