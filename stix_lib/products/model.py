"""The product model shared by L0 and L1: CONTROL + DATA tables, IDB versions, canonical order.

* ``control``: one row per packet (per accumulation for calibration spectra); columns
  ``scet_coarse``, ``scet_fine`` (the packet's base time), ``index`` and product specific ones.
* ``data``: one row per time bin; ``control_index`` refers to ``control['index']``;
  ``time`` is the bin centre as on-board time in seconds (float form ``coarse + fine / 65535``)
  and ``timedel`` the bin width in integer centiseconds.
* ``idb_versions``: IDB version -> ``(first, last)`` packet time (OBT seconds) decoded with it.

**Time exactness.** Every bin centre is ``base + (k + 1/2) * timedel`` with ``base`` the time of
its control row and ``k`` a non-negative integer (``k`` = 0 and ``timedel`` = 0 for housekeeping
and other instantaneous products). :func:`bin_centres` is the single place computing this, and
:func:`snap_times` recovers it from the centisecond times stored in FITS files. So a row read back
from a file has bit-identical times to the row built from packets, and what a file holds does not
depend on how often or in which order it was rewritten.

**Canonical order.** DATA rows are sorted by their merge key (centisecond time, then the spec's
``merge_columns``); CONTROL rows are renumbered in order of first use by the sorted DATA; control
rows no data row uses are dropped (:meth:`Product.canonical`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from stix_lib.products.catalogue import ProductSpec
from stix_lib.products.table import ColumnTable

FINE_SCALE = 65535.0


def control_base(control: ColumnTable) -> npt.NDArray[np.float64]:
    """Base time of each control row, OBT seconds (``coarse + fine / 65535``)."""
    return (
        np.asarray(control["scet_coarse"], dtype=np.float64)
        + np.asarray(control["scet_fine"], dtype=np.float64) / FINE_SCALE
    )


def bin_centres(base: npt.ArrayLike, k: npt.ArrayLike, timedel_cs: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Bin centres ``base + (k + 1/2) * timedel`` (``timedel`` in centiseconds)."""
    width = np.asarray(timedel_cs, dtype=np.float64) / 100.0
    return np.asarray(base, dtype=np.float64) + (np.asarray(k, dtype=np.float64) + 0.5) * width * (width > 0)


def snap_times(approximate: npt.ArrayLike, base: npt.ArrayLike, timedel_cs: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Exact bin centres from times known to ~1 cs (see the module docstring)."""
    t = np.asarray(approximate, dtype=np.float64)
    width = np.asarray(timedel_cs, dtype=np.float64) / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(width > 0, np.rint((t - np.asarray(base)) / np.where(width > 0, width, 1.0) - 0.5), 0.0)
    return bin_centres(base, np.maximum(k, 0.0), timedel_cs)


def time_keys(time: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Merge key of times: absolute centiseconds (rounded)."""
    return np.rint(np.asarray(time, dtype=np.float64) * 100.0).astype(np.int64)


@dataclass
class Product:
    """One L0 or L1 product (see the module docstring).

    Attributes
    ----------
    spec
        What kind of product this is.
    level
        ``"L0"`` or ``"L1"``.
    control, data
        The tables.
    idb_versions
        IDB version -> ``(first, last)`` OBT seconds.
    """

    spec: ProductSpec
    level: str
    control: ColumnTable
    data: ColumnTable
    idb_versions: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def time(self) -> npt.NDArray[np.float64]:
        """Bin centres (OBT seconds)."""
        return np.asarray(self.data["time"], dtype=np.float64)

    @property
    def timedel_seconds(self) -> npt.NDArray[np.float64]:
        """Bin widths in seconds."""
        return np.asarray(self.data["timedel"], dtype=np.float64) / 100.0

    @property
    def obt_range(self) -> tuple[float, float]:
        """``(start of first bin, end of last bin)`` in OBT seconds (rows in canonical order)."""
        if not len(self.data):
            raise ValueError("empty product")
        time, half = self._ends()
        return float(time[0] - half[0]), float(time[1] + half[1])

    def _ends(self) -> tuple[tuple[np.float64, np.float64], tuple[np.float64, np.float64]]:
        """Bin centres and half widths (seconds) of the first and last DATA row."""
        time, timedel = self.data["time"], self.data["timedel"]
        return (np.float64(time[0]), np.float64(time[-1])), (
            np.float64(timedel[0]) / 100.0 / 2.0,
            np.float64(timedel[-1]) / 100.0 / 2.0,
        )

    @property
    def file_obt_range(self) -> tuple[float, float]:
        """``(start, end)`` in OBT seconds as the product's FITS file gives them.

        DATA times are stored as whole centiseconds from ``OBT_BEG`` (processing spec §4.2), so
        the end is the start plus the stored time of the last row plus half its width. STIXCore
        builds L1 from the L0 file and so writes this end into L1 headers (``OBT_END``,
        ``DATE-END``); for packet-timed rows (housekeeping) it lies up to 5 ms from the exact one.
        """
        start, _ = self.obt_range
        time, half = self._ends()
        stored_last = start + np.rint((time[1] - start) * 100.0) / 100.0
        return start, float(stored_last + half[1])

    def merge_keys(self) -> list[np.ndarray]:
        """Key arrays identifying rows (most significant first)."""
        return [time_keys(self.time)] + [np.asarray(self.data[name]) for name in self.spec.merge_columns]

    def canonical(self) -> Product:
        """Rows sorted by merge key, control renumbered in order of first use (unused dropped)."""
        keys = self.merge_keys()
        order = np.lexsort(tuple(reversed(keys))) if keys else np.arange(len(self.data))
        return self.with_rows(order)

    def with_rows(self, rows: npt.ArrayLike | slice) -> Product:
        """The product restricted to DATA ``rows`` (in that order, or a slice), control renumbered."""
        data = self.data.take(rows if isinstance(rows, slice) else np.asarray(rows, dtype=np.intp))
        old = np.asarray(data["control_index"], dtype=np.int64)
        index = np.asarray(self.control["index"], dtype=np.int64)
        if len(old) and _is_arange(index) and old.min() >= 0 and old.max() < len(index):
            control_rows = old  # the usual numbering 0..n-1: rows are the indices
        else:
            lookup = np.full(int(index.max()) + 1 if len(index) else 1, -1, dtype=np.int64)
            lookup[index] = np.arange(len(index))
            found = lookup[old] if len(old) and old.max() < len(lookup) else None
            if len(old) and (found is None or found.min() < 0):
                missing = sorted(set(old.tolist()) - set(index.tolist()))
                raise ValueError(f"DATA refers to control rows {missing[:5]} that do not exist")
            control_rows = np.zeros(0, dtype=np.int64) if found is None else found
        if len(control_rows) and np.all(control_rows[1:] >= control_rows[:-1]):  # usual: sorted already
            first_of_run = np.empty(len(control_rows), dtype=bool)
            first_of_run[0] = True
            np.not_equal(control_rows[1:], control_rows[:-1], out=first_of_run[1:])
            used_in_order = control_rows[first_of_run]
            low, high = int(used_in_order[0]), int(used_in_order[-1])
            if high - low == len(used_in_order) - 1:  # a run of control rows (e.g. one day's): a slice
                control = self.control.take(slice(low, high + 1))
                control.replace_values("index", np.arange(len(used_in_order), dtype=np.int64))
                data.replace_values("control_index", control_rows - low if low else control_rows)
                return Product(self.spec, self.level, control, data, dict(self.idb_versions))
        else:
            used, first = np.unique(control_rows, return_index=True)
            used_in_order = used[np.argsort(first, kind="stable")]
        renumber = np.full(len(index), -1, dtype=np.int64)
        renumber[used_in_order] = np.arange(len(used_in_order))
        control = self.control.take(used_in_order)
        control.replace_values("index", np.arange(len(used_in_order), dtype=np.int64))
        data.replace_values("control_index", renumber[control_rows] if len(old) else old)
        return Product(self.spec, self.level, control, data, dict(self.idb_versions))

    def same_content(self, other: Product) -> bool:
        """True when both hold equal tables (names, values, units, meta) and IDB versions."""
        if self.spec.key != other.spec.key or self.level != other.level:
            return False
        if self.idb_versions != other.idb_versions:
            return False
        return _tables_equal(self.control, other.control) and _tables_equal(self.data, other.data)


def _is_arange(values: np.ndarray) -> bool:
    """True when ``values`` is ``0, 1, ..., n - 1``."""
    count = len(values)
    if not count or values[0] != 0 or values[-1] != count - 1:
        return False
    return count < 3 or bool(np.all(values[1:] - values[:-1] == 1))


def _tables_equal(a: ColumnTable, b: ColumnTable) -> bool:
    if a.names != b.names or len(a) != len(b):
        return False
    for name in a.names:
        ca, cb = a.column(name), b.column(name)
        if not same_unit(ca.unit, cb.unit) or ca.meta != cb.meta:
            return False
        va, vb = ca.values, cb.values
        if va.dtype.kind in "US" or vb.dtype.kind in "US":
            if not np.array_equal(va.astype(str), vb.astype(str)):
                return False
        elif va.shape != vb.shape or not np.array_equal(va, vb, equal_nan=va.dtype.kind == "f"):
            return False
    return True


def same_unit(a: str | None, b: str | None) -> bool:
    """True when two unit strings mean the same unit (``%`` and ``0.01``, ``ct`` and ``count``)."""
    if (a or None) == (b or None):
        return True
    if not a or not b:
        return False
    import astropy.units as u

    try:
        return u.Unit(a, parse_strict="silent") == u.Unit(b, parse_strict="silent")
    except (ValueError, TypeError):
        return False


def merge_idb_versions(*versions: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Union of IDB version ranges (each version's range expanded to cover all inputs)."""
    out: dict[str, tuple[float, float]] = {}
    for table in versions:
        for version, (start, end) in table.items():
            if version in out:
                low, high = out[version]
                out[version] = (min(low, start), max(high, end))
            else:
                out[version] = (float(start), float(end))
    return dict(sorted(out.items(), key=lambda item: (item[1][0], item[0])))
