"""A small column table: named numpy columns of equal length, each with unit, meta and description.

Products keep their CONTROL and DATA tables in this form (not as astropy tables) so that row
operations (take, concatenate, sort) are plain numpy; conversion to and from astropy happens only
in :mod:`stix_lib.products.fits_io`. Column ``meta`` is a dict; for IDB-derived columns it holds
``NIXS`` (parameter name, or list of names) and, for columns still holding raw values that L1 must
calibrate, ``PCF_CURTX`` (calibration id).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass
class Column:
    """One table column.

    Attributes
    ----------
    values
        Values, first axis = rows (vector columns have more axes).
    unit
        Unit string (astropy/FITS syntax) or ``None``.
    meta
        Column metadata (serialised into the FITS header).
    description
        Free text description or ``None``.
    """

    values: np.ndarray
    unit: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    description: str | None = None

    def with_values(self, values: np.ndarray) -> Column:
        """Same unit/meta/description, other values (``meta`` copied one level deep; never
        modify nested meta values in place)."""
        return Column(values, self.unit, dict(self.meta), self.description)


def _fill_like(column: Column, rows: int) -> np.ndarray:
    values = column.values
    if values.dtype.kind in "US":
        return np.zeros((rows, *values.shape[1:]), dtype=values.dtype)
    return np.zeros((rows, *values.shape[1:]), dtype=values.dtype)


def _common_values(parts: list[np.ndarray]) -> np.ndarray:
    first = parts[0]
    if all(p.dtype == first.dtype and p.shape[1:] == first.shape[1:] for p in parts[1:]):
        return np.concatenate(parts)  # the usual case: nothing to promote
    kinds = {p.dtype.kind for p in parts}
    if kinds <= {"U", "S"}:
        if "U" in kinds:
            parts = [p.astype(str) if p.dtype.kind == "S" else p for p in parts]
        return np.concatenate(parts)
    dtype = np.result_type(*parts)
    shapes = {p.shape[1:] for p in parts}
    if len(shapes) != 1:
        raise ValueError(f"cannot stack columns of shapes {sorted(shapes)}")
    return np.concatenate([p.astype(dtype, copy=False) for p in parts])


def _as_slice(index: np.ndarray, rows: int) -> np.ndarray | slice:
    """``index`` as a slice when it selects a contiguous ascending run of rows (else unchanged).

    Taking a run (all rows, one day of a time-ordered product) then costs no copy: the new
    table's columns are views. Column values are never modified in place (tables are changed by
    replacing columns), so sharing them is safe.
    """
    if index.ndim != 1 or not len(index):
        return index
    if index.dtype == np.bool_:
        if len(index) != rows:
            return index
        selected = np.flatnonzero(index)
        return _as_slice(selected, rows) if len(selected) else index
    if index.dtype.kind not in "iu":
        return index
    first, last = int(index[0]), int(index[-1])
    if first < 0 or last - first != len(index) - 1 or last >= rows:
        return index
    if len(index) > 1 and not np.all(np.diff(index) == 1):
        return index
    return slice(first, last + 1)


class ColumnTable:
    """Ordered named columns of equal length."""

    def __init__(self, columns: dict[str, Column] | None = None) -> None:
        self._columns: dict[str, Column] = {}
        for name, column in (columns or {}).items():
            self.set(name, column)

    # -- access --------------------------------------------------------------------------------
    def __len__(self) -> int:
        if not self._columns:
            return 0
        return len(next(iter(self._columns.values())).values)

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name].values

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return list(self._columns)

    def column(self, name: str) -> Column:
        """The :class:`Column` ``name``."""
        return self._columns[name]

    def columns(self) -> list[tuple[str, Column]]:
        """``(name, column)`` pairs in order."""
        return list(self._columns.items())

    # -- changes -------------------------------------------------------------------------------
    def set(self, name: str, column: Column) -> None:
        """Add or replace a column (a replaced column keeps its position)."""
        values = np.asarray(column.values)
        if values.ndim == 0:
            raise ValueError(f"column {name}: values must have a row axis")
        if self._columns and name not in self._columns and len(values) != len(self):
            raise ValueError(f"column {name}: {len(values)} rows, table has {len(self)}")
        if name in self._columns and len(self._columns) > 1 and len(values) != len(self):
            raise ValueError(f"column {name}: {len(values)} rows, table has {len(self)}")
        column.values = values
        self._columns[name] = column

    def add(
        self,
        name: str,
        values: npt.ArrayLike,
        unit: str | None = None,
        meta: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> None:
        """Add or replace column ``name``."""
        self.set(name, Column(np.asarray(values), unit, dict(meta or {}), description))

    def replace_values(self, name: str, values: npt.ArrayLike) -> None:
        """New values for an existing column, keeping unit/meta/description."""
        self.set(name, self._columns[name].with_values(np.asarray(values)))

    def remove(self, name: str) -> None:
        """Delete a column."""
        del self._columns[name]

    def reorder(self, names: Sequence[str]) -> None:
        """Put ``names`` first (in that order), other columns after them."""
        order = [n for n in names if n in self._columns] + [n for n in self._columns if n not in names]
        self._columns = {n: self._columns[n] for n in order}

    # -- row operations ----------------------------------------------------------------------
    def take(self, rows: npt.ArrayLike | slice) -> ColumnTable:
        """A new table with the given rows (indices, boolean mask or slice)."""
        index = rows if isinstance(rows, slice) else _as_slice(np.asarray(rows), len(self))
        return self._derived({n: c.with_values(c.values[index]) for n, c in self._columns.items()})

    def copy(self) -> ColumnTable:
        """A deep copy."""
        return self._derived({n: c.with_values(c.values.copy()) for n, c in self._columns.items()})

    @staticmethod
    def _derived(columns: dict[str, Column]) -> ColumnTable:
        """A table of columns derived row for row from a valid table (lengths agree: no checks)."""
        out = ColumnTable()
        out._columns = columns
        return out

    def shallow_copy(self) -> ColumnTable:
        """A new table sharing the column objects (replace columns with :meth:`set`, never modify them)."""
        out = ColumnTable()
        out._columns = dict(self._columns)
        return out

    @staticmethod
    def concatenate(tables: Sequence[ColumnTable]) -> ColumnTable:
        """Stack tables row-wise.

        Columns keep the order of their first appearance; a column missing from some tables is
        filled with zeros there; dtypes are promoted (strings widened). Unit, meta and description
        come from the first table holding the column.
        """
        tables = [t for t in tables if t.names]
        if not tables:
            return ColumnTable()
        if len(tables) == 1:  # nothing to stack or promote (columns are never modified in place)
            return tables[0].shallow_copy()
        names: dict[str, Column] = {}
        for table in tables:
            for name, column in table.columns():
                names.setdefault(name, column)
        columns = {}
        for name, template in names.items():
            parts = [t[name] if name in t else _fill_like(template, len(t)) for t in tables]
            columns[name] = template.with_values(_common_values(parts))
        return ColumnTable._derived(columns)  # every column has the summed row count
