"""Product validation against reference products: layout, every DATA/CONTROL value, loading with stixpy.

Entry point: :class:`ProductValidator`; CLI ``stix-pipeline validate``.
"""

from stix_lib.validate.compare import compare_layouts
from stix_lib.validate.layout import ColumnLayout, HduLayout, LayoutError, ProductLayout, read_layout
from stix_lib.validate.references import index_references, normalise_descriptor, product_key
from stix_lib.validate.report import ERROR, INFO, FileReport, Finding
from stix_lib.validate.v01 import V01_RENAMES, rename_v01_error_columns
from stix_lib.validate.validator import ProductValidator
from stix_lib.validate.values import ValueStats, compare_values

__all__ = [
    "ERROR",
    "INFO",
    "ColumnLayout",
    "FileReport",
    "Finding",
    "HduLayout",
    "LayoutError",
    "ProductLayout",
    "ProductValidator",
    "V01_RENAMES",
    "ValueStats",
    "compare_layouts",
    "compare_values",
    "index_references",
    "normalise_descriptor",
    "product_key",
    "read_layout",
    "rename_v01_error_columns",
]
