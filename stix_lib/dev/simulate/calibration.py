"""Engineering -> raw values: the inverse of :func:`stix_lib.decode.engineering.calibrate`.

For a parameter with a calibration:

* textual (``S``): the text (or ``True``/``False``) maps to the lowest raw value of its ``TXP``
  range; integers pass through (``calibrate`` keeps raw values that have no text);
* polynomial (``MCF``): a straight line is inverted exactly (rounded to the nearest integer);
  other polynomials are searched over the parameter's raw domain;
* curve (``CAP``): the curve is evaluated on every raw value of the parameter's domain (at most
  2**16 values; the curve parameters are 12 and 16 bits wide) and each engineering value maps to
  the raw value whose calibrated value is nearest (the lowest such raw value on ties).

Engineering values are taken in the units :func:`~stix_lib.decode.engineering.calibrate`
returns: temperatures in kelvin. Parameters without a calibration (and the RCR parameters, which
the pipeline keeps raw) are rounded to integers. Values beyond the range a parameter can
represent map to the nearest representable raw value, so
``calibrate(to_raw(calibrate(raw))) == calibrate(raw)`` for every raw value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from stix_lib.decode.engineering import (
    RAW_ONLY_PARAMETERS,
    ZERO_CELSIUS_IN_KELVIN,
    CalibrationError,
    evaluate_curve,
)
from stix_lib.idb.database import IDB

#: Largest raw domain searched for non-invertible calibrations.
MAX_SEARCH_BITS = 16


def _domain(idb: IDB, name: str) -> npt.NDArray[np.int64]:
    info = idb.get_parameter(name)
    if info is None:
        raise CalibrationError(f"unknown parameter {name}")
    if info.width > MAX_SEARCH_BITS:
        raise CalibrationError(f"{name}: {info.width}-bit raw domain too large to search")
    if info.signed:
        return np.arange(-(1 << (info.width - 1)), 1 << (info.width - 1), dtype=np.int64)
    return np.arange(0, 1 << info.width, dtype=np.int64)


def nearest_raw(domain: npt.NDArray[np.int64], calibrated: npt.NDArray[np.float64], eng: npt.ArrayLike) -> np.ndarray:
    """For each engineering value the raw value of ``domain`` whose calibrated value is nearest.

    Ties (equal distance, or several raw values with the same calibrated value) go to the lowest
    raw value. Vectorised: sort by (calibrated, raw) and binary search.
    """
    target = np.asarray(eng, dtype=np.float64)
    order = np.lexsort((domain, calibrated))
    curve = calibrated[order]
    raw_sorted = domain[order]
    pos = np.clip(np.searchsorted(curve, target, side="left"), 1, len(curve) - 1)
    right = pos
    left = np.searchsorted(curve, curve[pos - 1], side="left")  # first raw with that value
    left_err = np.abs(curve[left] - target)
    right_err = np.abs(curve[right] - target)
    below = target <= curve[0]
    right = np.where(below, 0, right)
    right_err = np.where(below, np.abs(curve[0] - target), right_err)
    use_right = (right_err < left_err) | ((right_err == left_err) & (raw_sorted[right] < raw_sorted[left]))
    return np.where(use_right, raw_sorted[right], raw_sorted[left]).astype(np.int64)


def _textual(idb: IDB, name: str, ident: str, eng: np.ndarray) -> np.ndarray:
    ranges = idb.get_textual_calibration(ident)
    table: dict[str, int] = {}
    for entry in ranges:
        table.setdefault(entry.text, int(entry.low))
    flat = eng.ravel()
    out = np.empty(flat.shape, dtype=np.int64)
    for i, value in enumerate(flat.tolist()):
        if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
            out[i] = int(value)  # a raw value the calibration has no text for (kept raw by calibrate)
            continue
        key = ("True" if value else "False") if isinstance(value, bool | np.bool_) else str(value)
        if key not in table:
            raise CalibrationError(f"{name}: {value!r} is not a state of {ident} ({sorted(table)})")
        out[i] = table[key]
    return out.reshape(eng.shape)


def to_raw(idb: IDB, name: str, engineering: npt.ArrayLike | Sequence[object]) -> np.ndarray:
    """Convert engineering values of parameter ``name`` to raw integers.

    Parameters
    ----------
    idb
        The IDB the packet will be decoded with.
    name
        Parameter name.
    engineering
        Values as :func:`~stix_lib.decode.engineering.calibrate` returns them (numbers, kelvin
        for temperatures, strings or booleans for textual parameters).

    Returns
    -------
    numpy.ndarray
        int64 raw values of the input's shape.

    Raises
    ------
    CalibrationError
        Unknown text state, unknown calibration category, or a non-linear calibration of a
        parameter wider than :data:`MAX_SEARCH_BITS` bits.
    """
    info = idb.get_parameter(name)
    values = np.asarray(engineering, dtype=object if _is_textual(idb, name) else np.float64)
    if info is None or info.calibration_id is None or name in RAW_ONLY_PARAMETERS:
        return np.rint(np.asarray(values, dtype=np.float64)).astype(np.int64)
    ident = info.calibration_id
    if info.category == "S":
        return _textual(idb, name, ident, values)
    if info.category != "N":
        raise CalibrationError(f"parameter {name}: unsupported calibration category {info.category!r}")
    target = np.asarray(values, dtype=np.float64)
    if info.unit == "degC":
        target = target - ZERO_CELSIUS_IN_KELVIN
    if ident.startswith("CIXP"):
        curve = idb.get_calibration_curve(ident)
        if len(curve.x) == 2:
            slope = (curve.y[1] - curve.y[0]) / (curve.x[1] - curve.x[0])
            return _clip(idb, name, np.rint(curve.x[0] + (target - curve.y[0]) / slope))
        domain = _domain(idb, name)
        return nearest_raw(domain, evaluate_curve(curve, domain), target)
    poly = idb.get_calibration_polynomial(ident)
    if poly is None:
        raise CalibrationError(f"parameter {name}: polynomial {ident} missing or invalid")
    a0, a1, *higher = poly.coefficients
    if not any(higher) and a1 != 0:
        return _clip(idb, name, np.rint((target - a0) / a1))
    domain = _domain(idb, name)
    return nearest_raw(domain, np.asarray(poly(domain), dtype=np.float64), target)


def _is_textual(idb: IDB, name: str) -> bool:
    info = idb.get_parameter(name)
    return info is not None and info.calibration_id is not None and info.category == "S"


def _clip(idb: IDB, name: str, raw: np.ndarray) -> np.ndarray:
    info = idb.get_parameter(name)
    assert info is not None
    if info.signed:
        low, high = -(1 << (info.width - 1)), (1 << (info.width - 1)) - 1
    else:
        low, high = 0, (1 << info.width) - 1
    return np.clip(raw, low, high).astype(np.int64)
