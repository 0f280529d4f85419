"""L0 -> L1: raw -> engineering values per IDB validity period, calibration-spectra unit fixes.

The L1 product is a copy of the L0 product with level ``L1`` and CONTROL ``parent`` set to the
complete name of the L0 file. Then:

1. **Engineering values.** Columns whose meta carries a calibration id (``PCF_CURTX``, a string)
   and a parameter name (``NIXS``) hold raw values. The IDB validity periods come from the
   product's IDB_VERSIONS table: versions sorted by their first packet time, each valid until
   the next one starts, the first from the beginning of time and the last without end. Rows of
   each period (CONTROL rows by their base time, DATA rows by their bin time) are converted
   with that version's calibration of the parameter (:func:`stix_lib.decode.calibrate`:
   polynomials, curves, texts, degC -> K). The result column gets the calibration's unit and loses
   ``PCF_CURTX``. Text calibrations become strings (or booleans for True/False texts); a value
   without text keeps its raw number, written as text. A calibration that fails leaves the column
   raw and is reported.
2. **Calibration spectra (21/6/41).** The IDB calibrations of three control columns are wrong
   (reference pipeline issue #432) and are corrected after step 1: ``integration_time`` x 10
   (seconds), ``live_time`` / 100 (uint32, ms), ``quiet_time`` / 1e5 (us).

Splitting per UTC day and writing are done by :mod:`stix_lib.products.writer`.
"""

from __future__ import annotations

import logging

import numpy as np

from stix_lib.decode.engineering import CalibrationError, EngineeringValues, calibrate
from stix_lib.idb.manager import IDBManager
from stix_lib.products.l0_l1_names import complete_name
from stix_lib.products.model import Product, control_base
from stix_lib.products.table import Column, ColumnTable

log = logging.getLogger(__name__)


def idb_periods(idb_versions: dict[str, tuple[float, float]]) -> list[tuple[str, float, float]]:
    """``(version, start, end)`` validity periods (see the module docstring)."""
    items = sorted(idb_versions.items(), key=lambda item: (item[1][0], item[0]))
    periods = []
    for number, (version, (start, _)) in enumerate(items):
        begin = -np.inf if number == 0 else start
        end = items[number + 1][1][0] if number + 1 < len(items) else np.inf
        periods.append((version, float(begin), float(end)))
    return periods


def _as_text(values: np.ndarray) -> np.ndarray:
    """``str()`` of every value, as a text array as wide as the longest (one cast for text arrays)."""
    if values.dtype.kind == "U":
        return values.astype(f"U{max(1, int(np.char.str_len(values).max(initial=0)))}")
    return np.asarray([str(v) for v in values.ravel()], dtype=str).reshape(values.shape)


def _combine(pieces: list[tuple[np.ndarray | slice, np.ndarray]], shape: tuple[int, ...]) -> np.ndarray:
    """Assemble converted pieces ``(row mask or slice(None) for all rows, values)`` into one column."""
    kinds = {values.dtype.kind for _, values in pieces}
    if len(pieces) == 1 and isinstance(pieces[0][0], slice):  # one piece of all rows: its values
        values = pieces[0][1]
        if kinds == {"b"}:
            return values
        if kinds & {"U", "S", "O"}:
            return _as_text(values)
        return np.asarray(values, dtype=np.float64)
    if kinds == {"b"}:
        out = np.zeros(shape, dtype=bool)
    elif kinds & {"U", "S", "O"}:
        texts = [(rows, _as_text(values)) for rows, values in pieces]
        width = max((t.dtype.itemsize // 4 for _, t in texts), default=1)
        out = np.zeros(shape, dtype=f"U{max(width, 1)}")
        for rows, text in texts:
            out[rows] = text
        return out
    else:
        out = np.zeros(shape, dtype=np.float64)
    for rows, values in pieces:
        out[rows] = values
    return out


#: Distinct raw values remembered per parameter at most (beyond, new values are not remembered).
MEMO_VALUES = 1 << 16


class CalibrationMemo:
    """Engineering values remembered per IDB version, parameter and integer raw value, for one run.

    Every calibration converts each raw value on its own (curves, polynomials, texts), so a run's
    daily products (the same housekeeping parameters day after day) need the IDB calibration
    (:func:`~stix_lib.decode.engineering.calibrate`: for a curve, a spline fit per call) only when
    a raw value was not seen before; then the whole array is calibrated as without the memo, and
    its values are remembered. Only results whose type does not depend on which values are at hand
    are remembered: numbers, texts that are not ``True``/``False`` and booleans; never a result
    keeping raw values (no text: the error is logged at every call, as without the memo). Keep one
    object for a run.
    """

    def __init__(self) -> None:
        # (version, parameter, raw dtype) -> sorted raw values, their values, the result's unit, id, kind
        self._known: dict[tuple[str, str, np.dtype], tuple[np.ndarray, np.ndarray, str | None, str | None, str]] = {}

    def calibrate(self, idb_manager: IDBManager, version: str, name: str, raw: np.ndarray) -> EngineeringValues:
        """:func:`~stix_lib.decode.engineering.calibrate` with the IDB ``version`` of ``idb_manager``."""
        raw = np.asarray(raw)
        key = (version, name, raw.dtype)
        known = self._known.get(key)
        if known is not None and raw.size:
            values, converted, unit, ident, kind = known
            flat = raw.ravel()
            where = values.searchsorted(flat)
            np.minimum(where, len(values) - 1, out=where)
            if (values[where] == flat).all():
                found = converted[where].reshape(raw.shape)
                if found.dtype.kind == "U":  # as wide as these texts, as calibrate gives them
                    found = _as_text(found)
                return EngineeringValues(found, unit, ident, kind)
        result = calibrate(idb_manager.get_idb(version), name, raw)
        self._remember(key, raw, result)
        return result

    def _remember(self, key: tuple[str, str, np.dtype], raw: np.ndarray, result: EngineeringValues) -> None:
        converted = np.asarray(result.values)
        if raw.dtype.kind not in "iu" or not raw.size or converted.shape != raw.shape:
            return
        if result.kind in ("curve", "polynomial"):
            usable = converted.dtype == np.float64
        elif result.kind == "textual":  # booleans, or texts none of which would turn a subset boolean
            usable = converted.dtype == np.bool_ or (
                converted.dtype.kind == "U" and not np.isin(converted, ["True", "False"]).any()
            )
        else:
            usable = False
        if not usable:
            return
        values, first = np.unique(raw.ravel(), return_index=True)
        converted = converted.ravel()[first]
        known = self._known.get(key)
        if known is not None:
            same = (converted.dtype.kind, result.unit, result.calibration_id, result.kind)
            if (known[1].dtype.kind, *known[2:]) != same:
                return
            values, first = np.unique(np.concatenate([known[0], values]), return_index=True)
            converted = np.concatenate([known[1], converted])[first]
        if len(values) <= MEMO_VALUES:
            self._known[key] = (values, converted, result.unit, result.calibration_id, result.kind)


def calibrate_table(
    table: ColumnTable,
    times: np.ndarray,
    periods: list[tuple[str, float, float]],
    idb_manager: IDBManager,
    memo: CalibrationMemo | None = None,
) -> list[str]:
    """Replace the raw calibrated columns of ``table`` by engineering values; returns warnings.

    Columns are replaced, never modified, so tables sharing column objects are not affected.
    ``memo`` remembers numeric calibrations across calls (see :class:`CalibrationMemo`).
    """
    warnings: list[str] = []
    selections: list[tuple[str, np.ndarray | slice]] | None = None  # rows of each period, made on first need
    for name, column in list(table.columns()):
        curtx, nix = column.meta.get("PCF_CURTX"), column.meta.get("NIXS")
        if not isinstance(curtx, str) or not isinstance(nix, str):
            continue
        if selections is None:
            masks = [(version, (times >= start) & (times < end)) for version, start, end in periods]
            selections = [(version, slice(None) if rows.all() else rows) for version, rows in masks if rows.any()]
        values = column.values
        pieces: list[tuple[np.ndarray | slice, np.ndarray]] = []
        unit = column.unit
        try:
            for version, rows in selections:
                if memo is None:
                    result = calibrate(idb_manager.get_idb(version), nix, values[rows])
                else:
                    result = memo.calibrate(idb_manager, version, nix, values[rows])
                pieces.append((rows, np.asarray(result.values)))
                if result.kind != "raw":
                    unit = result.unit
        except (CalibrationError, ValueError) as exc:
            warnings.append(f"column {name} ({nix}) kept raw: {exc}")
            continue
        if not pieces:
            continue
        converted = _combine(pieces, values.shape)
        meta = {k: v for k, v in column.meta.items() if k != "PCF_CURTX"}
        table.set(name, Column(converted, unit if converted.dtype.kind == "f" else None, meta, column.description))
    return warnings


def _calibration_fixes(control: ColumnTable) -> None:
    if "integration_time" in control:
        control.replace_values("integration_time", np.asarray(control["integration_time"], dtype=np.float64) * 10.0)
        control.column("integration_time").unit = "s"
    if "live_time" in control:
        live = np.rint(np.asarray(control["live_time"], dtype=np.float64) / 100.0)
        control.replace_values("live_time", live.astype(np.uint32))
        control.column("live_time").unit = "ms"
    if "quiet_time" in control:
        control.replace_values("quiet_time", np.asarray(control["quiet_time"], dtype=np.float64) / 1e5)
        control.column("quiet_time").unit = "us"


def level0_to_level1(
    product: Product, *, parent: str, idb_manager: IDBManager, memo: CalibrationMemo | None = None
) -> tuple[Product, list[str]]:
    """Convert an L0 product to L1 (see the module docstring).

    Parameters
    ----------
    product
        The L0 product (e.g. read from its file).
    parent
        The L0 file name (its complete twin is recorded).
    idb_manager
        Source of the IDB versions named by the product.
    memo
        Calibrations remembered by the run (:class:`CalibrationMemo`), or ``None``.

    Returns
    -------
    product, warnings
        The L1 product (not yet split per UTC day) and conversion warnings.
    """
    control = product.control.shallow_copy()
    data = product.data.shallow_copy()
    parent_name = complete_name(parent)
    control.replace_values("parent", np.full(len(control), parent_name, dtype=f"U{max(len(parent_name), 1)}"))
    l1 = Product(product.spec, "L1", control, data, dict(product.idb_versions))
    periods = idb_periods(l1.idb_versions)
    if not periods:
        return l1, ["no IDB_VERSIONS: raw columns left unconverted"]
    warnings = calibrate_table(l1.control, control_base(l1.control), periods, idb_manager, memo)
    warnings += calibrate_table(l1.data, l1.time, periods, idb_manager, memo)
    if product.spec.kind == "calibration":
        _calibration_fixes(l1.control)
    for text in warnings:
        log.warning("%s: %s", parent, text)
    return l1, warnings
