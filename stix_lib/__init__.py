"""STIX ground processing library (no Airflow imports anywhere in this package)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stix_lib")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
