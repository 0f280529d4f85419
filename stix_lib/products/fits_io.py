"""Serialise L0/L1 products to FITS and read them back.

HDUs: ``PRIMARY`` (header only), ``CONTROL``, ``DATA``, ``IDB_VERSIONS`` (``version``,
``obt_start``/``obt_end`` [s]) and, for products with energy information, ``ENERGIES``
(``channel`` uint8, ``e_low``/``e_high`` float32 [keV]). Tables are written by astropy, which
serialises each column's unit, description and ``meta`` (``NIXS``, ``PCF_CURTX``) into the
``--BEGIN-ASTROPY-SERIALIZED-COLUMNS--`` comment block of the extension header; reading with
astropy restores them, so the L1 step can find the raw columns it must calibrate.

Storage conventions (the in-memory model is :mod:`stix_lib.products.model`):

* DATA ``time`` is stored as uint32 centiseconds relative to ``OBT_BEG`` (start of the first bin),
  ``timedel`` as uint32 centiseconds; unsigned integers use ``TZERO`` (astropy's convention);
* a few columns are stored in the smallest unsigned integer type that holds their values, as the
  reference products do (``index``/``control_index`` of quick-look products, triggers, variance,
  calibration counts); this is a function of the values only;
* all HDUs carry ``CHECKSUM``/``DATASUM``.

Files are written atomically (temporary file in the target folder, ``fsync``, ``os.replace``).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.table import Column as AstropyColumn
from astropy.table import Table, meta
from astropy.utils.exceptions import AstropyWarning

from stix_lib.lb.fits_io import write_atomic
from stix_lib.products.catalogue import NoProductError, product_spec
from stix_lib.products.model import Product, control_base, snap_times
from stix_lib.products.table import Column, ColumnTable

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


def min_uint_dtype(values: np.ndarray) -> np.dtype | None:
    """Smallest unsigned integer type holding ``values`` (``None`` if they are not all integral >= 0)."""
    if values.dtype.kind in "US" or values.dtype == np.bool_:
        return None
    if not values.size:
        return np.dtype(np.uint8)
    if values.dtype.kind == "f" and not np.all(np.isfinite(values) & (values == np.floor(values))):
        return None
    if values.min() < 0:
        return None
    top = int(values.max())
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if top <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return None  # pragma: no cover - beyond uint64


def _storage_values(kind: str, table: str, name: str, values: np.ndarray) -> np.ndarray:
    if table == "control" and name == "index":
        if kind in _QL_KINDS or kind == "tmstatusflarelist":
            return values.astype(min_uint_dtype(values) or np.int64)
        return values.astype(np.int64)
    if table == "data" and name == "control_index":
        if kind in _QL_KINDS:
            return values.astype(min_uint_dtype(values) or np.int64)
        return values.astype(np.uint16 if kind == "calibration" else np.int64)
    if table == "data" and name in _COMPACT_DATA.get(kind, ()):
        dtype = min_uint_dtype(values)
        return values.astype(dtype) if dtype is not None else values
    if values.dtype == object:
        return values.astype(str)
    return values


def _astropy_table(product_kind: str, name: str, table: ColumnTable, overrides: dict[str, np.ndarray]) -> Table:
    columns = []
    for col_name, column in table.columns():
        values = overrides.get(col_name)
        if values is None:
            values = _storage_values(product_kind, name, col_name, column.values)
        unit = "cs" if name == "data" and col_name in ("time", "timedel") else column.unit
        columns.append(
            AstropyColumn(
                data=values,
                name=col_name,
                unit=unit or None,
                description=column.description,
                meta=dict(column.meta),
            )
        )
    return Table(columns, copy=False)


def serialized_column_comments(table: Table) -> list[str]:
    """COMMENT lines carrying the columns' meta and descriptions (astropy's serialized-columns block).

    Astropy reads this block back into ``Column.meta``/``description``; lines are cut into
    70-character pieces continued with a trailing backslash, as astropy writes them.
    """
    if not any(col.info.meta or col.info.description for col in table.itercols()):
        return []
    encoded = Table(table.columns, meta={"__serialized_columns__": {}}, copy=False)
    lines = ["--BEGIN-ASTROPY-SERIALIZED-COLUMNS--"]
    for line in meta.get_yaml_from_table(encoded):
        pieces = [line[i : i + 70] for i in range(0, len(line), 70)] or [""]
        lines.extend(piece + "\\" for piece in pieces[:-1])
        lines.append(pieces[-1])
    lines.append("--END-ASTROPY-SERIALIZED-COLUMNS--")
    return lines


def _table_hdu(table: Table, extname: str) -> fits.BinTableHDU:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        hdu = fits.table_to_hdu(table)
    hdu.name = extname
    for line in serialized_column_comments(table):
        hdu.header.add_comment(line)
    return hdu


def _idb_table(idb_versions: dict[str, tuple[float, float]]) -> Table:
    items = sorted(idb_versions.items(), key=lambda item: (item[1][0], item[0]))
    return Table(
        [
            AstropyColumn(np.array([v for v, _ in items], dtype=str) if items else np.zeros(0, "U7"), name="version"),
            AstropyColumn(np.array([r[0] for _, r in items], dtype=np.float64), name="obt_start", unit="s"),
            AstropyColumn(np.array([r[1] for _, r in items], dtype=np.float64), name="obt_end", unit="s"),
        ]
    )


def _energies_table(e_low: np.ndarray, e_high: np.ndarray) -> Table:
    return Table(
        [
            AstropyColumn(np.arange(len(e_low), dtype=np.uint8), name="channel"),
            AstropyColumn(np.asarray(e_low, dtype=np.float32), name="e_low", unit="keV"),
            AstropyColumn(np.asarray(e_high, dtype=np.float32), name="e_high", unit="keV"),
        ]
    )


def product_bytes(
    product: Product,
    cards: Sequence[tuple[str, Any, str]],
    history: Sequence[str],
    energies: tuple[np.ndarray, np.ndarray] | None,
) -> bytes:
    """Serialise a product (rows in canonical order) with the given primary cards."""
    if not len(product.data):
        raise ValueError("cannot write a product without data rows")
    start, _ = product.obt_range
    relative = np.rint((product.time - start) * 100.0)
    if relative.min() < 0:
        raise ValueError("DATA times before OBT_BEG")
    header = fits.Header()
    for key, value, comment in cards:
        header.append(fits.Card(key, value, comment), end=True)
    for line in history:
        header.add_history(line)
    kind = product.spec.kind
    data_overrides = {
        "time": relative.astype(np.uint32),
        "timedel": np.asarray(product.data["timedel"]).astype(np.uint32),
    }
    hdus: list[fits.PrimaryHDU | fits.BinTableHDU] = [
        fits.PrimaryHDU(header=header),
        _table_hdu(_astropy_table(kind, "control", product.control, {}), "CONTROL"),
        _table_hdu(_astropy_table(kind, "data", product.data, data_overrides), "DATA"),
        _table_hdu(_idb_table(product.idb_versions), "IDB_VERSIONS"),
    ]
    if energies is not None:
        hdus.append(_table_hdu(_energies_table(*energies), "ENERGIES"))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        fits.HDUList(hdus).writeto(buffer, checksum=True)
    return buffer.getvalue()


def write_product(
    product: Product,
    path: Path,
    cards: Sequence[tuple[str, Any, str]],
    history: Sequence[str],
    energies: tuple[np.ndarray, np.ndarray] | None,
) -> None:
    """Write ``product`` atomically to ``path``."""
    write_atomic(product_bytes(product, cards, history, energies), path)


def _column_from_astropy(column: AstropyColumn) -> Column:
    values = np.asarray(column)
    if values.dtype.kind == "S":
        values = np.char.decode(values, "ascii")
    values = values.astype(values.dtype.newbyteorder("="))
    unit = column.unit.to_string() if column.unit is not None else None
    return Column(values, unit or None, dict(column.meta), column.description)


def _read_table(hdu: fits.BinTableHDU) -> ColumnTable:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        table = Table.read(hdu)
    return ColumnTable({name: _column_from_astropy(table[name]) for name in table.colnames})


def read_product(path: Path) -> Product:
    """Read an L0/L1 product file back into a :class:`Product`.

    Raises
    ------
    ProductFileError
        Unreadable file, missing HDUs or columns, or not a product of :mod:`~stix_lib.products`.
    """
    try:
        with fits.open(path, memmap=False) as hdul:
            header = hdul[0].header
            level = str(header["LEVEL"]).strip()
            ssid_value = header.get("SSID", "")
            spec = product_spec(
                int(header["STYPE"]), int(header["SSTYPE"]), None if ssid_value in ("", None) else int(ssid_value)
            )
            start = float(header["OBT_BEG"])
            control = _read_table(hdul["CONTROL"])
            data = _read_table(hdul["DATA"])
            idb_rows = hdul["IDB_VERSIONS"].data
            idb_versions = {
                str(v).strip(): (float(a), float(b))
                for v, a, b in zip(idb_rows["version"], idb_rows["obt_start"], idb_rows["obt_end"], strict=True)
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
