"""Validate STIX FITS products against reference products and stixpy.

:class:`ProductValidator` indexes a reference folder once, then :meth:`ProductValidator.validate`
checks one file: it must open as FITS, have a reference of the same level and descriptor, match
its layout (:mod:`stix_lib.validate.compare`), agree with the reference value by value over their
common time range (:mod:`stix_lib.validate.values`) and load in stixpy
(:mod:`stix_lib.validate.stixpy_check`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from stix_lib.validate.compare import compare_layouts
from stix_lib.validate.layout import LayoutError, ProductLayout, read_layout
from stix_lib.validate.references import index_references, product_key
from stix_lib.validate.report import FileReport
from stix_lib.validate.stixpy_check import check_with_stixpy, stixpy_product_class
from stix_lib.validate.values import compare_values

logger = logging.getLogger(__name__)


class ProductValidator:
    """Validator over one reference folder.

    Parameters
    ----------
    reference_dir
        Folder with reference products (``solo_<LEVEL>_stix-<descriptor>_…fits``).
    use_stixpy
        Also load every file with stixpy (default True).
    compare_values
        Also compare every DATA/CONTROL value over the common time range (default True).

    Raises
    ------
    FileNotFoundError
        If ``reference_dir`` is not a folder.
    """

    def __init__(self, reference_dir: Path, *, use_stixpy: bool = True, compare_values: bool = True) -> None:
        self.reference_dir = Path(reference_dir)
        if not self.reference_dir.is_dir():
            raise FileNotFoundError(f"reference folder {self.reference_dir} does not exist")
        self.references = index_references(self.reference_dir)
        self.use_stixpy = use_stixpy
        self.compare_values = compare_values
        self._layouts: dict[Path, ProductLayout] = {}
        self._classes: dict[Path, str | None] = {}

    def _reference_layout(self, path: Path) -> ProductLayout:
        if path not in self._layouts:
            self._layouts[path] = read_layout(path)
        return self._layouts[path]

    def _reference_class(self, path: Path) -> str | None:
        if path not in self._classes:
            try:
                self._classes[path] = stixpy_product_class(path)
            except Exception as exc:  # noqa: BLE001 - a reference stixpy cannot read sets no expectation
                logger.warning("stixpy cannot load reference %s: %s", path, exc)
                self._classes[path] = None
        return self._classes[path]

    def validate(self, path: Path) -> FileReport:
        """Validate one file; never raises for problems of the file itself."""
        path = Path(path)
        report = FileReport(path=path)
        try:
            layout = read_layout(path)
        except LayoutError as exc:
            report.error("unreadable", str(exc))
            return report
        key = product_key(path)
        if key is None:
            report.error("unknown-type", f"{path.name}: not a STIX product name (solo_<LEVEL>_stix-<type>_…)")
            return report
        level, descriptor = key
        report.product_type = f"{level} {descriptor}"
        reference = self.references.get(key)
        if reference is None:
            report.error("no-reference", f"no {level} {descriptor} reference product in {self.reference_dir}")
        else:
            report.reference = reference
            compare_layouts(report, layout, self._reference_layout(reference), descriptor)
            if self.compare_values and level == "L1":
                report.values = compare_values(report, path, reference, descriptor)
        if self.use_stixpy:
            expected = self._reference_class(reference) if reference is not None else None
            check_with_stixpy(report, path, descriptor, expected)
        return report

    def validate_all(self, paths: Iterable[Path]) -> list[FileReport]:
        """Validate several files in order."""
        return [self.validate(Path(p)) for p in paths]
