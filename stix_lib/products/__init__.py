"""L0 and L1 products of housekeeping, quick-look and other (non-science) telemetry.

Modules: :mod:`~stix_lib.products.catalogue` (which packets make which product),
:mod:`~stix_lib.products.model` / :mod:`~stix_lib.products.table` (product tables, exact bin
times, canonical order), :mod:`~stix_lib.products.l0` (LB -> L0 builders),
:mod:`~stix_lib.products.l1` (L0 -> L1: engineering values per IDB period),
:mod:`~stix_lib.products.merge` (newest-wins merging, daily split),
:mod:`~stix_lib.products.l0_l1_names` (file names, folders, complete/incomplete twins),
:mod:`~stix_lib.products.header` (primary headers, SOOP provider interface),
:mod:`~stix_lib.products.fits_io` (product FITS layout and IO, on :mod:`stix_lib.fits`),
:mod:`~stix_lib.products.writer` (daily files: merge with existing files, atomic writes),
:mod:`~stix_lib.products.steps` (one input file -> products, with per-file results).
"""

from typing import TYPE_CHECKING

from stix_lib.lazy_exports import lazy_exports

if TYPE_CHECKING:  # imported on first use (stix_lib.lazy_exports): a submodule does not pull its siblings
    from stix_lib.products.catalogue import NoProductError, ProductSpec, product_spec
    from stix_lib.products.fits_io import ProductFileError, read_product
    from stix_lib.products.header import NoSoopKeywords, SoopKeywordProvider
    from stix_lib.products.l0 import L0Build, ProductBuildError, build_l0
    from stix_lib.products.l0_l1_names import complete_name, incomplete_name, parse_product_name
    from stix_lib.products.l1 import level0_to_level1
    from stix_lib.products.merge import combine, split_by_scet_day, split_by_utc_day
    from stix_lib.products.model import Product
    from stix_lib.products.steps import StepResult, l0_to_l1, lb_to_l0
    from stix_lib.products.table import Column, ColumnTable
    from stix_lib.products.writer import ProductWriteError, ProductWriter, WriteResult

__all__ = [
    "Column",
    "ColumnTable",
    "L0Build",
    "NoProductError",
    "NoSoopKeywords",
    "Product",
    "ProductBuildError",
    "ProductFileError",
    "ProductSpec",
    "ProductWriteError",
    "ProductWriter",
    "SoopKeywordProvider",
    "StepResult",
    "WriteResult",
    "build_l0",
    "combine",
    "complete_name",
    "incomplete_name",
    "l0_to_l1",
    "lb_to_l0",
    "level0_to_level1",
    "parse_product_name",
    "product_spec",
    "read_product",
    "split_by_scet_day",
    "split_by_utc_day",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
