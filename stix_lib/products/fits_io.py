"""Serialise L0/L1 products to FITS and read them back.

HDUs: ``PRIMARY`` (header only), ``CONTROL``, ``DATA``, ``IDB_VERSIONS`` (``version``,
``obt_start``/``obt_end`` [s]) and, for products with energy information, ``ENERGIES``
(``channel`` uint8, ``e_low``/``e_high`` float32 [keV]). Each column's unit, description and
``meta`` (``NIXS``, ``PCF_CURTX``) are stored the way astropy stores them (the
``--BEGIN-ASTROPY-SERIALIZED-COLUMNS--`` comment block of the extension header), so astropy,
stixpy and :func:`read_product` get them back; the L1 step relies on it to find raw columns.
Files are serialised by :mod:`stix_lib.fits.writer` and read by
:mod:`stix_lib.fits.reader` (astropy for layouts it does not handle).

Storage conventions (the in-memory model is :mod:`stix_lib.products.model`):

* DATA ``time`` is stored as uint32 centiseconds relative to ``OBT_BEG`` (start of the first bin),
  ``timedel`` as uint32 centiseconds; unsigned integers use ``TZERO``;
* a few columns are stored in the smallest unsigned integer type that holds their values, as the
  reference products do (``index``/``control_index`` of quick-look products, triggers, variance,
  calibration counts); this is a function of the values only;
* all HDUs carry ``CHECKSUM``/``DATASUM``.

Files are written atomically (temporary file in the target folder, ``fsync``, ``os.replace``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stix_lib.atomic import atomic_write_parts
from stix_lib.fits.reader import TableData, UnsupportedLayout, read_fits_tables, serialized_columns
from stix_lib.fits.writer import WriteColumn, bintable_parts, primary_bytes
from stix_lib.products.catalogue import NoProductError, product_spec
from stix_lib.products.model import Product, control_base, snap_times
from stix_lib.products.table import Column, ColumnTable

if TYPE_CHECKING:
    from astropy.io import fits

COMP_ERR_DESCRIPTION = "Error due only to integer compression"

_QL_KINDS = frozenset({"lightcurve", "background", "spectra", "variance", "flareflag"})
_COMPACT_DATA = {
    "lightcurve": {"triggers"},
    "background": {"triggers"},
    "spectra": {"triggers"},
    "variance": {"variance"},
    "calibration": {"counts"},
}


class ProductFileError(Exception):
    """A product file cannot be read or is not an L0/L1 product."""


def as_min_uint(values: np.ndarray) -> np.ndarray | None:
    """``values`` in the smallest unsigned integer type holding them (not copied when already of it).

    ``None`` when there is none (not all integral and >= 0, or beyond ``uint64``).

    Floats are checked on the converted values (finite, non-negative extremes; converting back
    gives them again), so no temporary arrays beyond the result are made.
    """
    if values.dtype.kind in "US" or values.dtype == np.bool_:
        return None
    if not values.size:
        return values.astype(np.uint8)
    if values.dtype.kind == "f":
        low, high = float(values.min()), float(values.max())
        if not (math.isfinite(low) and math.isfinite(high)) or low < 0:
            return None
        dtype = _uint_dtype_for(high)
        if dtype is None:
            return None
        converted = values.astype(dtype)
        return converted if np.array_equal(converted, values) else None
    if values.dtype.kind != "u" and values.min() < 0:
        return None
    dtype = _uint_dtype_for(int(values.max()))
    return None if dtype is None else values.astype(dtype, copy=False)


def _uint_dtype_for(top: float) -> np.dtype | None:
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if top <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return None  # pragma: no cover - beyond uint64


def _storage_values(kind: str, table: str, name: str, values: np.ndarray) -> np.ndarray:
    # copy=False: the writer only reads the values, a column already of the stored type is not copied
    if table == "control" and name == "index":
        if kind in _QL_KINDS or kind == "tmstatusflarelist":
            return _min_uint_or_int64(values)
        return values.astype(np.int64, copy=False)
    if table == "data" and name == "control_index":
        if kind in _QL_KINDS:
            return _min_uint_or_int64(values)
        return values.astype(np.uint16 if kind == "calibration" else np.int64, copy=False)
    if table == "data" and name in _COMPACT_DATA.get(kind, ()):
        converted = as_min_uint(values)
        return converted if converted is not None else values
    if values.dtype == object:
        return values.astype(str)
    return values


def _min_uint_or_int64(values: np.ndarray) -> np.ndarray:
    converted = as_min_uint(values)
    return converted if converted is not None else values.astype(np.int64, copy=False)


def _write_columns(kind: str, name: str, table: ColumnTable, overrides: dict[str, np.ndarray]) -> list[WriteColumn]:
    out = []
    for col_name, column in table.columns():
        values = overrides.get(col_name)
        if values is None:
            values = _storage_values(kind, name, col_name, column.values)
        unit = "cs" if name == "data" and col_name in ("time", "timedel") else column.unit
        out.append(WriteColumn(col_name, np.asarray(values), unit, column.description, dict(column.meta)))
    return out


def _idb_columns(idb_versions: dict[str, tuple[float, float]]) -> list[WriteColumn]:
    items = sorted(idb_versions.items(), key=lambda item: (item[1][0], item[0]))
    return [
        WriteColumn("version", np.array([v for v, _ in items], dtype=str) if items else np.zeros(0, "U7")),
        WriteColumn("obt_start", np.array([r[0] for _, r in items], dtype=np.float64), "s"),
        WriteColumn("obt_end", np.array([r[1] for _, r in items], dtype=np.float64), "s"),
    ]


def _energy_columns(e_low: np.ndarray, e_high: np.ndarray) -> list[WriteColumn]:
    return [
        WriteColumn("channel", np.arange(len(e_low), dtype=np.uint8)),
        WriteColumn("e_low", np.asarray(e_low, dtype=np.float32), "keV"),
        WriteColumn("e_high", np.asarray(e_high, dtype=np.float32), "keV"),
    ]


def product_bytes(
    product: Product,
    cards: Sequence[tuple[str, Any, str]],
    history: Sequence[str],
    energies: tuple[np.ndarray, np.ndarray] | None,
    cache: dict | None = None,
) -> bytes:
    """Serialise a product (rows in canonical order) with the given primary cards.

    ``cache``: a dict the caller keeps between calls to reuse column-metadata YAML.
    """
    return b"".join(product_parts(product, cards, history, energies, cache))


def product_parts(
    product: Product,
    cards: Sequence[tuple[str, Any, str]],
    history: Sequence[str],
    energies: tuple[np.ndarray, np.ndarray] | None,
    cache: dict | None = None,
) -> list[bytes | bytearray | memoryview]:
    """:func:`product_bytes` in pieces (headers and data blocks), to be written one after the other."""
    if not len(product.data):
        raise ValueError("cannot write a product without data rows")
    start, _ = product.obt_range
    relative = np.rint((product.time - start) * 100.0)
    if relative.min() < 0:
        raise ValueError("DATA times before OBT_BEG")
    kind = product.spec.kind
    data_overrides = {
        "time": relative.astype(np.uint32),
        "timedel": np.asarray(product.data["timedel"]).astype(np.uint32),
    }
    parts: list[bytes | bytearray | memoryview] = [primary_bytes(cards, history)]
    parts += bintable_parts("CONTROL", _write_columns(kind, "control", product.control, {}), cache)
    parts += bintable_parts("DATA", _write_columns(kind, "data", product.data, data_overrides), cache)
    parts += bintable_parts("IDB_VERSIONS", _idb_columns(product.idb_versions), cache)
    if energies is not None:
        parts += bintable_parts("ENERGIES", _energy_columns(*energies), cache)
    return parts


def write_product(
    product: Product,
    path: Path,
    cards: Sequence[tuple[str, Any, str]],
    history: Sequence[str],
    energies: tuple[np.ndarray, np.ndarray] | None,
) -> None:
    """Write ``product`` atomically to ``path``."""
    atomic_write_parts(path, product_parts(product, cards, history, energies))


def serialized_column_info(header: fits.Header) -> dict[str, dict[str, Any]]:
    """Column name -> ``{"meta": ..., "description": ...}`` from an astropy header."""
    return serialized_columns([str(c) for c in header.get("COMMENT", [])])


def _table_from(data: TableData, cache: dict | None = None) -> ColumnTable:
    info = serialized_columns(data.comments, cache)
    table = ColumnTable()
    for name, values in data.columns.items():
        extra = info.get(name, {})
        table.set(
            name,
            Column(np.array(values), data.units.get(name), dict(extra.get("meta") or {}), extra.get("description")),
        )
    return table


def _read_fast(path: Path, cache: dict | None) -> tuple[dict[str, Any], ColumnTable, ColumnTable, ColumnTable]:
    primary, tables = read_fits_tables(path)
    return (
        primary,
        _table_from(tables["CONTROL"], cache),
        _table_from(tables["DATA"], cache),
        _table_from(tables["IDB_VERSIONS"], cache),
    )


def _read_astropy(path: Path) -> tuple[dict[str, Any], ColumnTable, ColumnTable, ColumnTable]:
    from astropy.io import fits  # only for layouts the fast reader does not handle

    with fits.open(path, memmap=False) as hdul:
        primary = {
            key: hdul[0].header[key] for key in ("LEVEL", "STYPE", "SSTYPE", "SSID", "OBT_BEG") if key in hdul[0].header
        }
        return primary, _read_table(hdul["CONTROL"]), _read_table(hdul["DATA"]), _read_table(hdul["IDB_VERSIONS"])


def _read_table(hdu: fits.BinTableHDU) -> ColumnTable:
    info = serialized_column_info(hdu.header)
    records = hdu.data
    table = ColumnTable()
    for column in hdu.columns:
        values = np.asarray(records[column.name]) if records is not None else np.zeros(0)
        if values.dtype.kind == "S":
            values = np.char.decode(values, "ascii")
        values = values.astype(values.dtype.newbyteorder("="), copy=True)
        extra = info.get(column.name, {})
        unit = (column.unit or "").strip() or None
        table.set(column.name, Column(values, unit, dict(extra.get("meta", {}) or {}), extra.get("description")))
    return table


def read_product(path: Path, cache: dict | None = None) -> Product:
    """Read an L0/L1 product file back into a :class:`Product`.

    ``cache``: a dict the caller keeps between calls to reuse parsed column metadata.

    Raises
    ------
    ProductFileError
        Unreadable file, missing HDUs or columns, or not a product of :mod:`~stix_lib.products`.
    """
    try:
        try:
            header, control, data, idb = _read_fast(path, cache)
        except UnsupportedLayout:
            header, control, data, idb = _read_astropy(path)
        level = str(header["LEVEL"]).strip()
        ssid_value = header.get("SSID", "")
        spec = product_spec(
            int(header["STYPE"]), int(header["SSTYPE"]), None if ssid_value in ("", None) else int(ssid_value)
        )
        start = float(header["OBT_BEG"])
        idb_versions = {
            str(v).strip(): (float(a), float(b))
            for v, a, b in zip(idb["version"], idb["obt_start"], idb["obt_end"], strict=True)
        }
    except (OSError, KeyError, ValueError, TypeError, IndexError, NoProductError) as exc:
        raise ProductFileError(f"{path}: cannot read product file: {exc}") from exc
    if level not in ("L0", "L1"):
        raise ProductFileError(f"{path}: level {level!r} is not L0 or L1")
    try:
        control.replace_values("index", np.asarray(control["index"], dtype=np.int64))
        data.replace_values("control_index", np.asarray(data["control_index"], dtype=np.int64))
        timedel = np.asarray(data["timedel"], dtype=np.int64)
        data.replace_values("timedel", timedel)
        approximate = start + np.asarray(data["time"], dtype=np.float64) / 100.0
        base = control_base(control)
        lookup = np.zeros(int(control["index"].max()) + 1 if len(control) else 1, dtype=np.int64)
        lookup[control["index"]] = np.arange(len(control))
        rows = lookup[data["control_index"]]
        data.replace_values("time", snap_times(approximate, base[rows], timedel))
        data.column("time").unit = None
        data.column("timedel").unit = "cs"
    except (KeyError, ValueError, IndexError) as exc:
        raise ProductFileError(f"{path}: inconsistent product file: {exc}") from exc
    return Product(spec, level, control, data, idb_versions)
